/*
 * readme2man.c - prints the tree's /README (fs/readme.c) as the man page
 * ipamfs(5), so that the mounted manual and the installed one have one
 * source. Run at build time; output on stdout.
 *
 * The README is plain text laid out for a terminal: it is kept verbatim
 * (no-fill), its all-capitals lines at column 0 become section headings,
 * and what troff would read as markup (backslashes, a leading '.' or '\'')
 * is escaped.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "readme.h"

/* A heading: capitals, digits, spaces and punctuation only, not indented. */
static bool is_heading(const char *line, size_t len)
{
	bool letter = false;
	if (len == 0 || line[0] == ' ')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (islower((unsigned char)line[i]))
			return false;
		letter |= isupper((unsigned char)line[i]) != 0;
	}
	return letter;
}

static void put_escaped(const char *line, size_t len)
{
	if (len && (line[0] == '.' || line[0] == '\''))
		fputs("\\&", stdout);
	for (size_t i = 0; i < len; i++) {
		if (line[i] == '\\')
			fputs("\\e", stdout);
		else if (line[i] == '-')
			fputs("\\-", stdout);
		else
			putchar(line[i]);
	}
	putchar('\n');
}

int main(void)
{
	char text[65536];
	size_t n = 0;
	bool first = true;

	for (size_t i = 0; ipamfs_readme[i]; i++) {
		size_t len = strlen(ipamfs_readme[i]);
		if (n + len >= sizeof(text))
			return 1;
		memcpy(text + n, ipamfs_readme[i], len);
		n += len;
	}
	text[n] = '\0';
	puts(".\\\" Generated from fs/readme.c (the tree's /README) by "
	     "readme2man; do not edit.");
	puts(".TH IPAMFS 5 \"\" \"ipamfs\" \"File Formats Manual\"");
	puts(".nh"); /* words as /README has them, never hyphenated */
	puts(".SH NAME");
	puts("ipamfs \\- the files of a mounted IPAM");
	for (char *line = text; *line;) {
		char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		if (first && strncmp(line, "IPAMFS(5)", 9) == 0) {
			/* the title line: the .TH above stands for it */
			puts(".SH DESCRIPTION");
		} else if (is_heading(line, len)) {
			printf(".fi\n.SH ");
			put_escaped(line, len);
			puts(".nf");
		} else {
			if (len == 0)
				puts("");
			else
				put_escaped(line, len);
		}
		first = false;
		line = end ? end + 1 : line + len;
	}
	puts(".fi");
	puts(".SH SEE ALSO");
	puts(".BR ipamfs (8)");
	return 0;
}
