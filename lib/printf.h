/* Formatted printing into buffers (no floating point). */
#ifndef HV_LIB_PRINTF_H
#define HV_LIB_PRINTF_H

#include "lib/types.h"

/*
 * Supported: %d %i %u %x %X %o %p %s %c %%, flags '-' '0' ' ' '+' '#',
 * width and precision (also '*'), length modifiers hh h l ll z t j.
 * Always NUL-terminates when size > 0; returns the length the full
 * output would have had (like C99 vsnprintf).
 */
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);

#endif
