/* Times, rates and percentages as tc writes them; see tc_units.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tc_units.h"

static int bad(const char **why, const char *reason)
{
	*why = reason;
	return -EINVAL;
}

/*
 * "12", "1.5", ".5": digits with at most one '.', no sign, no exponent (tc
 * takes "1e3ms" through strtod; nobody means it). Sets *end past the number.
 */
static int read_number(const char *s, double *v, const char **end)
{
	const char *p = s;
	double whole = 0, scale = 1;
	int digits = 0, dot = 0;

	for (;; p++) {
		if (*p >= '0' && *p <= '9') {
			if (dot)
				scale /= 10;
			whole = whole * 10 + (*p - '0');
			digits++;
		} else if (*p == '.' && !dot) {
			dot = 1;
		} else {
			break;
		}
	}
	if (!digits)
		return -1;
	*v = whole * scale;
	*end = p;
	return 0;
}

int nsl_parse_time_us(const char *s, uint64_t *us, const char **why)
{
	static const struct { const char *unit; double us; } units[] = {
		{ "us", 1 }, { "ms", 1e3 }, { "s", 1e6 },
	};
	const char *u;
	double v;

	if (read_number(s, &v, &u) < 0)
		return bad(why, "not a time (a number and a unit: \"20ms\", \"500us\", \"1s\")");
	if (!*u)
		return bad(why, "no unit (write \"20ms\", \"500us\" or \"1s\")");
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcmp(u, units[i].unit) == 0) {
			double x = v * units[i].us;
			if (x > 1e15)
				return bad(why, "too large");
			*us = (uint64_t)(x + 0.5);
			if (x > 0 && *us == 0)
				return bad(why, "below one microsecond");
			return 0;
		}
	}
	return bad(why, "unknown unit (us, ms or s)");
}

int nsl_parse_rate_bit(const char *s, uint64_t *bits, const char **why)
{
	static const struct { const char *unit; double bits; } units[] = {
		{ "bit", 1 }, { "kbit", 1e3 }, { "mbit", 1e6 }, { "gbit", 1e9 },
	};
	const char *u;
	double v;

	if (read_number(s, &v, &u) < 0)
		return bad(why, "not a rate (a number and a unit: \"10mbit\", \"512kbit\")");
	if (!*u)
		return bad(why, "no unit (write \"10mbit\", \"512kbit\", \"1gbit\" or \"800bit\")");
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcasecmp(u, units[i].unit) == 0) {
			double x = v * units[i].bits;
			if (x > 1e15)
				return bad(why, "too large");
			*bits = (uint64_t)(x + 0.5);
			return 0;
		}
	}
	if (strcasecmp(u, "bps") == 0 || strcasecmp(u, "kbps") == 0 || strcasecmp(u, "mbps") == 0 ||
	    strcasecmp(u, "gbps") == 0)
		return bad(why, "tc reads 'bps', 'kbps', 'mbps' as BYTES per second; write bits: "
			   "'bit', 'kbit', 'mbit' or 'gbit' (1 mbps = 8mbit)");
	return bad(why, "unknown unit (bit, kbit, mbit or gbit)");
}

int nsl_parse_percent(const char *s, double *percent, const char **why)
{
	const char *u;
	double v;

	if (read_number(s, &v, &u) < 0 || strcmp(u, "%") != 0)
		return bad(why, "not a percentage (\"1%\", \"0.5%\", or a number)");
	if (v > 100)
		return bad(why, "more than 100%");
	*percent = v;
	return 0;
}

uint32_t nsl_percent_to_prob(double percent)
{
	if (percent <= 0)
		return 0;
	if (percent >= 100)
		return UINT32_MAX;
	return (uint32_t)(percent / 100.0 * UINT32_MAX + 0.5);
}

double nsl_prob_to_percent(uint32_t prob)
{
	return prob * 100.0 / UINT32_MAX;
}

void nsl_format_time_us(uint64_t us, char *buf, size_t len)
{
	if (us && us % 1000000 == 0)
		snprintf(buf, len, "%" PRIu64 "s", us / 1000000);
	else if (us && us % 1000 == 0)
		snprintf(buf, len, "%" PRIu64 "ms", us / 1000);
	else
		snprintf(buf, len, "%" PRIu64 "us", us);
}

void nsl_format_rate_bit(uint64_t bits, char *buf, size_t len)
{
	if (bits && bits % 1000000000 == 0)
		snprintf(buf, len, "%" PRIu64 "gbit", bits / 1000000000);
	else if (bits && bits % 1000000 == 0)
		snprintf(buf, len, "%" PRIu64 "mbit", bits / 1000000);
	else if (bits && bits % 1000 == 0)
		snprintf(buf, len, "%" PRIu64 "kbit", bits / 1000);
	else
		snprintf(buf, len, "%" PRIu64 "bit", bits);
}

void nsl_format_percent(uint32_t prob, char *buf, size_t len)
{
	snprintf(buf, len, "%.6g%%", nsl_prob_to_percent(prob));
}
