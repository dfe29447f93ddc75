/* showjson.h - ckpt-show --json (formats/show.md) */
#ifndef CKPT_SHOWJSON_H
#define CKPT_SHOWJSON_H
#include <stdio.h>

struct show_image;

/* the whole image as one JSON object and a newline */
void show_json(FILE *f, const struct show_image *im);

#endif
