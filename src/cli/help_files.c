/* Help text of restore-file (cli_help() asks here first). */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const char restore_file[] =
	"usage: cairn restore-file BACKUP PATH... DEST [--force] [--preserve owner] [--json]\n"
	"       cairn restore-file GROUP-BACKUP VOLUME:PATH... DEST [...]\n"
	"\n"
	"Extracts files and directory trees from a backup without restoring the\n"
	"volume: the backup's file catalog (made at backup time for ext2/3/4, see\n"
	"'cairn catalog') says where each file's bytes lie in the volume, and only\n"
	"the chunks holding them are fetched, in parallel and in volume order.\n"
	"No root is needed (but for --preserve owner and device nodes).\n"
	"\n"
	"PATH is a path in the catalog: '/etc/passwd', '/home' (a tree), '/' (the\n"
	"whole file system); on a partitioned volume '/p1/...' is partition 1.\n"
	"Each PATH lands in DEST under its last name (DEST/passwd, DEST/home/...);\n"
	"'/' puts the file system's contents into DEST itself.  DEST is a\n"
	"directory, created when missing.  For a group backup each PATH names its\n"
	"volume: 'db:/var/lib/pg'.\n"
	"\n"
	"What is kept: contents (holes stay holes: a sparse file stays sparse;\n"
	"unwritten extents and bytes past a file's extents read as zeros), modes,\n"
	"access and modification times (to the nanosecond), symlinks as they\n"
	"were, hard links (entries of one inode among what is extracted become\n"
	"links to the first one written), FIFOs, and device nodes when running\n"
	"as root (else skipped with a warning; sockets always are).  Owners are\n"
	"the caller's unless --preserve owner; without it set-user-id and\n"
	"set-group-id bits are dropped.  Directories get their modes and times\n"
	"after their contents are in.\n"
	"\n"
	"Safety: nothing is written outside DEST.  Every target is reached from\n"
	"DEST one name at a time without following symlinks, so a symlink planted\n"
	"in DEST (DEST/etc -> /etc) is refused, not followed; a PATH with '..' is\n"
	"refused, and so is a name from a damaged catalog that is not one name\n"
	"('', '.', '..', or holding '/').  Before anything is written every\n"
	"target is checked: one that exists is refused unless --force, except a\n"
	"directory, which is merged into.  Each file is written to a nameless\n"
	"temporary in its directory and renamed into place when complete, so a\n"
	"failure (a damaged chunk: 'chunk N of backup X is damaged') leaves no\n"
	"half-written file; what was written before it stays.\n"
	"\n"
	"  -f, --force            replace existing files, symlinks and other\n"
	"                         non-directories (a directory is never replaced\n"
	"                         by a file; a symlink in the way of a directory\n"
	"                         is replaced by the directory)\n"
	"      --preserve owner   set owners and groups as in the backup (root)\n"
	"      --json             the summary as {files, dirs, symlinks, hardlinks,\n"
	"                         special, skipped, bytes, chunks_fetched,\n"
	"                         bytes_fetched, nodes_fetched, seconds, backup,\n"
	"                         dest}: bytes_fetched counts the chunks and the\n"
	"                         tree nodes read to find them\n"
	"\n"
	"DEST '-' writes to standard output: the bytes of one regular file when\n"
	"PATH is one, else a tar (POSIX pax over ustar: long names, link targets\n"
	"and sizes of 8 GiB or more go in pax headers; times keep nanoseconds)\n"
	"of everything, holes as zeros, hard links as tar links.  A tar is never\n"
	"written to a terminal.  The summary, --json too, then goes to stderr.\n"
	"\n"
	"The summary (stderr) counts files, directories, symlinks, hard links,\n"
	"bytes, and the chunks and bytes fetched from the repository; a progress\n"
	"bar shows on a terminal.  Errors are one line and exit status 1.\n"
	"\n"
	"Examples:\n"
	"  cairn restore-file vm1@latest /etc/fstab /home/ann ./recovered\n"
	"  cairn restore-file 3fa2 /var/log/syslog - | less\n"
	"  cairn restore-file 3fa2 /srv - | tar -x -C /mnt/new\n";

bool cli_help_files(const char *verb)
{
	if (strcmp(verb, "restore-file") != 0)
		return false;
	fputs(restore_file, stdout);
	return true;
}
