/*
 * The units `tc` users write, parsed strictly and printed back the same way.
 *
 *   time     "20ms", "1.5ms", "500us", "2s"           -> microseconds
 *   rate     "10mbit", "1.5Mbit", "512kbit", "1gbit"  -> bits per second
 *            (1000-based, as tc; case-insensitive units)
 *   percent  "1%", "0.25%" (a script may pass a plain number instead; the
 *            binding handles that) -> the kernel's scale, UINT32_MAX = 100 %
 *
 * tc's byte-rate forms ("bps", "kbps", "mbps": bytes per second) are refused
 * with a reason, because "10mbps" is read as megabits by nearly everyone who
 * writes it. Each parser returns 0 or -EINVAL with *why set, as parse.h.
 */
#ifndef NSLAB_TC_UNITS_H
#define NSLAB_TC_UNITS_H

#include <stddef.h>
#include <stdint.h>

int nsl_parse_time_us(const char *s, uint64_t *us, const char **why);
int nsl_parse_rate_bit(const char *s, uint64_t *bits, const char **why);
int nsl_parse_percent(const char *s, double *percent, const char **why);

/* percent 0..100 <-> the kernel's 32-bit probability. */
uint32_t nsl_percent_to_prob(double percent);
double nsl_prob_to_percent(uint32_t prob);

/* "20ms", "1500us", "2s": the largest unit that divides exactly. */
void nsl_format_time_us(uint64_t us, char *buf, size_t len);
/* "10mbit", "1500kbit", "800bit": likewise, 1000-based. */
void nsl_format_rate_bit(uint64_t bits, char *buf, size_t len);
/* "10%", "0.1%": six significant digits, as the kernel's scale allows. */
void nsl_format_percent(uint32_t prob, char *buf, size_t len);

#endif
