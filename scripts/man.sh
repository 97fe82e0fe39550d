#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Writes a program's man page (roff, section 1) from its --help texts, so
# the page never says other than the program: the "usage:" line is the
# synopsis, a "heading:" line a section, a line indented two spaces an
# item (a command or an option) and a deeper one that item's text.
# Usage: scripts/man.sh PROGRAM "one-line description" [COMMAND...]
#        (each COMMAND adds the options of 'PROGRAM COMMAND --help')
set -eu

prog=$1
desc=$2
shift 2
name=$(basename "$prog")
# The package build's date (dpkg sets SOURCE_DATE_EPOCH), else the last
# commit's, else today.
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
	date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%F)
else
	date=$(git log -1 --format=%cs 2>/dev/null) || date=$(date -u +%F)
fi

{
	"$prog" --help
	for c in "$@"; do
		printf '\noptions of %s:\n' "$c"
		# Its usage line is the section's first item.
		"$prog" "$c" --help | sed 's/^usage: /  /'
	done
} | awk -v name="$name" -v desc="$desc" -v date="$date" '
function esc(s) {
	gsub(/\\/, "\\e", s)
	gsub(/-/, "\\-", s)
	if (s ~ /^[.\x27]/)
		s = "\\&" s
	return s
}
BEGIN {
	printf ".TH %s 1 \"%s\" \"yima\" \"User Commands\"\n", toupper(name), date
	printf ".SH NAME\n%s \\- %s\n", esc(name), esc(desc)
}
/^usage: / && !synopsis {
	sub(/^usage: /, "")
	printf ".SH SYNOPSIS\n.B %s\n", esc($0)
	synopsis = 1
	next
}
/^$/ { blank = 1; next }
/^[^ ].*:$/ {
	sub(/:$/, "")
	blank = 0
	printf ".SH %s\n", esc(toupper($0))
	next
}
/^  [^ ]/ {
	line = substr($0, 3)
	# An option with its text on the same line: two spaces part them.
	if (match(line, /   +/)) {
		tag = substr(line, 1, RSTART - 1)
		text = substr(line, RSTART + RLENGTH)
	} else {
		tag = line
		text = ""
	}
	blank = 0
	printf ".TP\n.B %s\n", esc(tag)
	if (text != "")
		print esc(text)
	next
}
/^ / { sub(/^ +/, ""); print esc($0); next }
{
	if (blank)
		print ".PP"
	print esc($0)
	blank = 0
	next
}
END {
	printf ".SH SEE ALSO\n"
	printf "The README of yima, installed in /usr/share/doc/yima.\n"
}'
