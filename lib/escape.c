/* escape.c - the one escaping of paths in text members */
#include <stdio.h>

#include "escape.h"

static int needs_escape(unsigned char c)
{
	return c <= ' ' || c == '\\' || c == 0x7f;
}

int str_escape(const char *s, char *out, size_t cap)
{
	size_t n = 0;
	unsigned char c;

	for (; (c = *s); s++) {
		if (needs_escape(c)) {
			if (n + 4 >= cap)
				return -1;
			snprintf(out + n, 5, "\\%03o", c);
			n += 4;
		} else {
			if (n + 1 >= cap)
				return -1;
			out[n++] = c;
		}
	}
	if (n >= cap)
		return -1;
	out[n] = 0;
	return 0;
}

static int octal_digit(char c)
{
	return c >= '0' && c <= '7' ? c - '0' : -1;
}

int str_unescape(char *s)
{
	char *w = s;
	int a, b, c;

	for (; *s; s++) {
		if (*s != '\\') {
			*w++ = *s;
			continue;
		}
		a = octal_digit(s[1]);
		b = a < 0 ? -1 : octal_digit(s[2]);
		c = b < 0 ? -1 : octal_digit(s[3]);
		if (c < 0 || a > 3)
			return -1;
		*w++ = (char)(a * 64 + b * 8 + c);
		s += 3;
	}
	*w = 0;
	return 0;
}
