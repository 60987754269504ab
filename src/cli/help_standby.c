/* Help text of standby (cli_help() asks here first). */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const char text[] =
	"usage: cairn standby create NAME (--volume V | --group G) --repo URI [--cred REF]\n"
	"                            --to PATH|DEVICE [--every INTERVAL] [--force]\n"
	"       cairn standby update NAME [--at BACKUP] [--force] [--json]\n"
	"       cairn standby list|show NAME|delete NAME [--json]\n"
	"       cairn standby status [NAME] [--json]\n"
	"\n"
	"A warm standby keeps a volume at the DR site equal to a restore point of a\n"
	"repository (usually one filled by 'cairn copy' or registered by 'cairn\n"
	"import'), so that recovery starts from a volume that is already there.\n"
	"\n"
	"create records the standby in the state database and restores the newest\n"
	"backup of volume V in URI to PATH (an image file, created, or a block\n"
	"device; one that holds data is refused without --force, as restore does).\n"
	"With --group G, PATH is a directory that gets one image per member, named\n"
	"by the volume, and the group's config document, as 'cairn group restore'\n"
	"lays them out.  --repo may name a registered repository.  If the first\n"
	"restore fails, nothing is recorded.\n"
	"\n"
	"update applies the newest restore point (or BACKUP, --at: a backup of V,\n"
	"or a group backup of G) by writing only the chunks that differ between\n"
	"the restore point the standby holds and the new one (the trees tell which;\n"
	"'restore --delta' writes them).  It is never half-applied: where the\n"
	"target's file system makes reflink clones (XFS, btrfs) the new chunks go\n"
	"into a clone of the image, renamed over it once complete; elsewhere (ext4,\n"
	"block devices) into a redo journal in STATE_DIR/standby/NAME/, fsynced,\n"
	"recorded as complete in the state database, then copied into the image in\n"
	"place.  An update killed at any moment leaves the old restore point, or\n"
	"one that the next command on the standby (update, show, status, delete)\n"
	"finishes without the repository.  For a group every image and the config\n"
	"document switch together.\n"
	"\n"
	"The standby remembers how it left its target (size, time and inode of a\n"
	"file; samples of a device's contents).  A target changed since (written\n"
	"by someone else) is refused: \"standby NAME: PATH changed since the\n"
	"standby last wrote it\"; --force rewrites whatever differs (every chunk is\n"
	"compared).  A mounted device is refused.\n"
	"\n"
	"--every INTERVAL (5m, 1h, ...): 'cairn daemon' runs the update that often,\n"
	"as a job of kind standby with its log ('cairn log').  Without waiting for\n"
	"it: a copy (cairn copy, a policy's --copy-to) or an import's re-read\n"
	"('cairn repos sync') on this host that lands a restore point of the\n"
	"standby's volume or group in its repository (the same repository by its\n"
	"instance, whatever URI names it) marks the standby, and the daemon runs\n"
	"its update on its next pass, one at a time per standby.\n"
	"\n"
	"list and show print what the state holds (the restore point held, when it\n"
	"was applied, how long that took, the bytes written); delete forgets the\n"
	"standby and its journal, never its image.  status opens each standby's\n"
	"repository and shows the restore point held, its age (the lag), the\n"
	"newest restore point there, and whether the standby is behind.\n"
	"\n"
	"Exit status: 0; 1 on an error, and for status when a standby is behind by\n"
	"more than twice its --every (any amount without --every) or its\n"
	"repository cannot be read: for a monitoring check.  --json: update and\n"
	"create print {name, from, to, changed, recovered, mode (full, reflink,\n"
	"journal, none), bytes_changed, bytes_written, bytes_fetched, seconds};\n"
	"status adds newest, lag_s, behind, late and error to each standby.\n";

bool cli_help_standby(const char *verb)
{
	size_t len = strcspn(verb, " ");
	if (len != 7 || strncmp(verb, "standby", 7) != 0)
		return false;
	fputs(text, stdout);
	fputs("\nGlobal options: see 'cairn --help'.\n", stdout);
	return true;
}
