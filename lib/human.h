/* human.h - a byte count for people: "512 B", "1.5 KiB", ... "2.0 TiB"
 * (ckpt-show, the progress line) */
#ifndef CKPT_HUMAN_H
#define CKPT_HUMAN_H
#include <stddef.h>

/* v bytes into buf (len bytes): buf */
const char *bytes_human(double v, char *buf, size_t len);

#endif
