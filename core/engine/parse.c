/* Strict validation of names and addresses before they reach libnl or the kernel. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"

static int bad(const char **why, const char *reason)
{
	*why = reason;
	return -EINVAL;
}

static int has_ctrl_or_space(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c == 0x7f)
			return 1;
	}
	return 0;
}

/* A file name under /run/netns, as `ip netns add` accepts it, minus the surprises. */
int nsl_check_nsname(const char *s, size_t len, const char **why)
{
	if (len == 0)
		return bad(why, "empty");
	if (memchr(s, '\0', len))
		return bad(why, "contains a NUL byte");
	if (len > 255)
		return bad(why, "too long (at most 255 bytes)");
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return bad(why, "'.' and '..' are not names");
	if (memchr(s, '/', len))
		return bad(why, "contains '/'");
	if (has_ctrl_or_space(s, len))
		return bad(why, "contains whitespace or a control character");
	return 0;
}

/* The kernel's dev_valid_name() rules, checked here because libnl truncates. */
int nsl_check_ifname(const char *s, size_t len, const char **why)
{
	if (len == 0)
		return bad(why, "empty");
	if (memchr(s, '\0', len))
		return bad(why, "contains a NUL byte");
	if (len >= NSL_IFNAMSIZ)
		return bad(why, "too long (at most 15 bytes)");
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return bad(why, "'.' and '..' are not interface names");
	if (memchr(s, '/', len) || memchr(s, ':', len))
		return bad(why, "contains '/' or ':'");
	if (has_ctrl_or_space(s, len))
		return bad(why, "contains whitespace or a control character");
	return 0;
}

/* Dotted keys under net., as sysctl(8) takes them; no way out of /proc/sys/net. */
int nsl_check_sysctl_key(const char *s, size_t len, const char **why)
{
	if (len == 0)
		return bad(why, "empty");
	if (memchr(s, '\0', len))
		return bad(why, "contains a NUL byte");
	if (strncmp(s, "net.", 4) != 0)
		return bad(why, "not a network sysctl (must start with 'net.')");
	if (memchr(s, '/', len))
		return bad(why, "contains '/' (use dots: net.ipv4.ip_forward)");
	if (strstr(s, "..") || s[len - 1] == '.')
		return bad(why, "has an empty component");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(isalnum(c) || c == '.' || c == '_' || c == '-'))
			return bad(why, "contains a character other than letters, digits, '.', '_' and '-'");
	}
	return 0;
}

/* A decimal prefix length: digits only, no sign, no leading zero, no hex. */
static int parse_prefixlen(const char *p, int max, int *out, const char **why)
{
	int v = 0;

	if (*p == '\0')
		return bad(why, "empty prefix length");
	if (p[0] == '0' && p[1] != '\0')
		return bad(why, "prefix length has a leading zero");
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return bad(why, "prefix length is not a decimal number");
		v = v * 10 + (*p - '0');
		if (v > max)
			break;
	}
	if (v > max)
		return bad(why, max == 32 ? "prefix length out of range (0 to 32 for IPv4)"
					  : "prefix length out of range (0 to 128 for IPv6)");
	*out = v;
	return 0;
}

int nsl_parse_ip(const char *s, int want_prefix, struct nsl_ip *out, const char **why)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	size_t alen;

	memset(out, 0, sizeof *out);
	out->prefixlen = -1;
	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0)
		return bad(why, "empty address");
	if (alen >= INET6_ADDRSTRLEN)
		return bad(why, "not an IPv4 or IPv6 address");
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	/* inet_pton is strict: no "10.1", no octal, no trailing junk, 0-255 per byte. */
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->family = AF_INET6;
	else
		return bad(why, "not an IPv4 or IPv6 address");
	if (slash) {
		if (want_prefix == 0)
			return bad(why, "a prefix length is not allowed here");
		if (parse_prefixlen(slash + 1, out->family == AF_INET ? 32 : 128,
				    &out->prefixlen, why))
			return -EINVAL;
	} else if (want_prefix == 1) {
		return bad(why, "missing prefix length (as in 192.0.2.1/24)");
	}
	return 0;
}

int nsl_ip_addrlen(const struct nsl_ip *ip)
{
	return ip->family == AF_INET ? 4 : 16;
}

const char *nsl_ip_ntop(const struct nsl_ip *ip, char *buf, size_t len)
{
	return inet_ntop(ip->family, ip->addr, buf, (socklen_t)len);
}

static int hexval(unsigned char c)
{
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

int nsl_parse_mac(const char *s, unsigned char mac[6], const char **why)
{
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]))
			return bad(why, "not a MAC address (as in 00:00:5e:00:53:01)");
		mac[i] = (unsigned char)(hexval((unsigned char)s[0]) << 4 | hexval((unsigned char)s[1]));
		s += 2;
		if (i < 5) {
			if (*s != ':' && *s != '-')
				return bad(why, "not a MAC address (as in 00:00:5e:00:53:01)");
			s++;
		}
	}
	if (*s != '\0')
		return bad(why, "not a MAC address (trailing characters)");
	return 0;
}
