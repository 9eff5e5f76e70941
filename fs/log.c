/*
 * log.c - the daemon's log: stderr in the foreground, syslog once
 * daemonised (see log.h).
 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

static atomic_bool to_syslog;

void log_open(void)
{
	openlog("ipamfs", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_daemonized(bool daemonized)
{
	atomic_store(&to_syslog, daemonized);
}

void log_msg(int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (atomic_load(&to_syslog)) {
		vsyslog(prio, fmt, ap);
	} else {
		char line[1024];
		vsnprintf(line, sizeof(line), fmt, ap);
		fprintf(stderr, "ipamfs: %s\n", line);
		fflush(stderr);
	}
	va_end(ap);
}
