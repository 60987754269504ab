/* Help texts of mount and umount (cli_help() asks here first). */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static const struct cli_help_text texts[] = {
	{ "mount",
	  "usage: cairn mount BACKUP|VOLUME|GROUP-BACKUP DIR [--overlay FILE]\n"
	  "                   [--allow-other] [--foreground] [--cache SIZE]\n"
	  "\n"
	  "Shows backups as image files under DIR, an empty directory, through\n"
	  "FUSE, without restoring them first:\n"
	  "\n"
	  "  DIR/VOLUME/TIME-ID.img     e.g. DIR/vm1/2026-12-07T183012Z-1a2b3c4d.img\n"
	  "\n"
	  "(TIME in UTC, ID the backup id's first 8 digits).  A VOLUME name mounts\n"
	  "all its backups, a BACKUP (an id, a unique prefix, VOLUME@latest,\n"
	  "latest) that one, a GROUP-BACKUP each of its volumes' backups.\n"
	  "An image is read lazily: only the chunks read are fetched, each\n"
	  "verified against its id before any byte of it is returned, with\n"
	  "read-ahead in parallel when reads run sequentially; chunks of zeros\n"
	  "cost nothing.  A chunk that is damaged or cannot be fetched reads as an\n"
	  "I/O error (EIO), never as wrong data; the rest of the image reads fine.\n"
	  "Loop-mount an image read-only to see the file system as it was:\n"
	  "  mount -o ro,loop DIR/vm1/...img /mnt\n"
	  "\n"
	  "The images are read-only unless --overlay FILE: then the one image the\n"
	  "mount holds (give one BACKUP of one volume) is writable and every write\n"
	  "goes to FILE, a sparse file with a map of the 4 KiB blocks written; the\n"
	  "backup never changes.  A VM can boot from the image at once (instant\n"
	  "recovery); mounting again with the same FILE continues where it\n"
	  "stopped, and an overlay of another backup is refused.  To make it\n"
	  "permanent, write the backup plus the overlay's writes to real storage:\n"
	  "  cairn restore BACKUP TARGET --from-overlay FILE\n"
	  "\n"
	  "cairn mount returns once the mount stands, serving it from a background\n"
	  "process; --foreground serves in this one (messages on stderr) until\n"
	  "Ctrl-C, SIGTERM or 'cairn umount DIR', each of which unmounts\n"
	  "cleanly.  If the serving process is killed, 'fusermount3 -u DIR'\n"
	  "clears the mount point.  While it stands, prune keeps what it stops\n"
	  "using for its safety window (an activity marker, 'cairn prune --help').\n"
	  "Refuses a DIR that is not an empty directory.\n"
	  "\n"
	  "  --overlay FILE  writable, writes to FILE (created if missing)\n"
	  "  --allow-other   let other users (root: the loop driver needs none)\n"
	  "                  read the images; needs user_allow_other in\n"
	  "                  /etc/fuse.conf unless run as root\n"
	  "  -f, --foreground  serve in the foreground\n"
	  "  --cache SIZE    memory for chunks per image (default 256M)\n"
	  "\n"
	  "--json prints {dir, images: [{path, id, volume, created, size}],\n"
	  "writable, overlay} once mounted.\n" },
	{ "umount",
	  "usage: cairn umount DIR\n"
	  "\n"
	  "Unmounts what 'cairn mount' mounted at DIR (fusermount3 -u); its\n"
	  "serving process then exits, after making the overlay's writes\n"
	  "durable.  Fails with fusermount3's reason when DIR is not mounted or\n"
	  "in use (a loop device over an image: detach it first).\n"
	  "--json prints {dir, unmounted}.\n" },
};

bool cli_help_mount(const char *verb)
{
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (strcmp(verb, texts[i].verb) == 0) {
			fputs(texts[i].text, stdout);
			fputs("\nGlobal options: see 'cairn --help'.\n", stdout);
			return true;
		}
	return false;
}
