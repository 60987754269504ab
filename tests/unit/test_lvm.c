/* source/lvm and source/thin: lvs output, device-mapper names, thin_delta
 * output, and thin_delta itself on pool metadata built with thin_restore
 * (real tools, no device-mapper needed). */
#include "helpers.h"

#include "source/lvm.h"
#include "source/thin.h"
#include "util/cleanup.h"

#define KiB 1024ull

static void test_parse_lvs(void **state)
{
	(void)state;
	struct cairn_lvm_lv lv;
	ck_ok(cairn_lvm_parse_lvs("  vg0|db|Vwi-a-tz--|pool0|10737418240|7\n", &lv));
	assert_string_equal(lv.vg, "vg0");
	assert_string_equal(lv.lv, "db");
	assert_string_equal(lv.pool, "pool0");
	assert_int_equal(lv.size, 10737418240ull);
	assert_int_equal(lv.thin_id, 7);
	assert_true(lv.thin);
	ck_ok(cairn_lvm_parse_lvs("  vg-1|root|-wi-ao----||21474836480|", &lv));
	assert_false(lv.thin);
	assert_string_equal(lv.pool, "");
	assert_int_equal(lv.thin_id, 0);
	static const char *const bad[] = { "", "vg0|db", "vg0|db|attr|pool|12x|1", "vg0|db|a|p|1|2|3", "|db|a|p|1|2",
					   "vg0|db|a|p|-5|2" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		ck_err(cairn_lvm_parse_lvs(bad[i], &lv), CAIRN_EINVAL);
}

static void test_dm_name(void **state)
{
	(void)state;
	char n[64];
	cairn_lvm_dm_name("vg0", "pool0", n, sizeof(n));
	assert_string_equal(n, "vg0-pool0");
	cairn_lvm_dm_name("my-vg", "data-1", n, sizeof(n));
	assert_string_equal(n, "my--vg-data--1");
	cairn_lvm_dm_name("a", "b", n, 3);
	assert_string_equal(n, "a-");
}

static const char delta_xml[] =
	"<superblock uuid=\"\" time=\"1\" transaction=\"2\" data_block_size=\"128\" nr_data_blocks=\"1000\">\n"
	"  <diff left=\"1\" right=\"2\">\n"
	"    <same begin=\"0\" length=\"1\"/>\n"
	"    <different begin=\"1\" length=\"1\"/>\n"
	"    <same begin=\"2\" length=\"1\"/>\n"
	"    <left_only begin=\"3\" length=\"2\"/>\n"
	"    <right_only begin=\"5\" length=\"1\"/>\n"
	"    <right_only begin=\"100\" length=\"10\"/>\n"
	"  </diff>\n"
	"</superblock>\n";

static void test_parse_delta(void **state)
{
	(void)state;
	struct cairn_change_map m = CAIRN_CHANGE_MAP_INIT;
	/* Blocks of 128 sectors = 64 KiB; the volume ends inside block 102. */
	ck_ok(cairn_thin_delta_parse(delta_xml, strlen(delta_xml), 102 * 64 * KiB + 4096, &m));
	assert_int_equal(m.n, 3);
	assert_int_equal(m.v[0].off, 64 * KiB); /* block 1, then 3..5 merged, then 100.. */
	assert_int_equal(m.v[0].len, 64 * KiB);
	assert_int_equal(m.v[2].off, 100 * 64 * KiB);
	assert_int_equal(m.v[2].len, 2 * 64 * KiB + 4096); /* clipped at the volume's end */
	cairn_change_map_free(&m);
	/* Without the clip, 3..5 merge and 100..109 stands apart. */
	ck_ok(cairn_thin_delta_parse(delta_xml, strlen(delta_xml), 1ull << 40, &m));
	assert_int_equal(m.n, 3);
	assert_int_equal(m.v[1].off, 3 * 64 * KiB);
	assert_int_equal(m.v[1].len, 3 * 64 * KiB);
	assert_int_equal(m.v[2].off, 100 * 64 * KiB);
	assert_int_equal(m.bytes, (1 + 3 + 10) * 64 * KiB);
	cairn_change_map_free(&m);
	static const char *const bad[] = {
		"",
		"<superblock data_block_size=\"128\"></superblock>",                               /* no diff */
		"<superblock><diff><different begin=\"1\" length=\"1\"/></diff></superblock>",      /* no block size */
		"<superblock data_block_size=\"0\"><diff></diff></superblock>",                    /* zero block */
		"<superblock data_block_size=\"128\"><different begin=\"1\" length=\"1\"/><diff></diff></superblock>",
		"<superblock data_block_size=\"128\"><diff><different begin=\"x\" length=\"1\"/></diff></superblock>",
		"<superblock data_block_size=\"128\"><diff><different begin=\"9\" length=\"1\"/>"
		"<different begin=\"2\" length=\"1\"/></diff></superblock>", /* out of order */
		"<superblock data_block_size=\"128\"><diff><different begin=\"99999999999999999999\" length=\"1\"/>",
		"<superblock data_block_size=\"128\"><diff><different begin=\"1\"",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct cairn_change_map b = CAIRN_CHANGE_MAP_INIT;
		ck_err(cairn_thin_delta_parse(bad[i], strlen(bad[i]), 1ull << 40, &b), CAIRN_ECORRUPT);
		cairn_change_map_free(&b);
	}
}

static int has_tool(const char *name)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

/* The real thin_delta on metadata made by the real thin_restore: device 2
 * is a snapshot of device 1 that rewrote block 1 and added blocks 5..6. */
static void test_thin_delta_tool(void **state)
{
	(void)state;
	if (!has_tool("thin_restore") || !has_tool("thin_delta")) {
		print_message("thin-provisioning-tools not installed: skipped\n");
		skip();
	}
	char dir[PATH_MAX], xml[PATH_MAX + 16], meta[PATH_MAX + 16], cmd[4 * PATH_MAX];
	th_tmpdir(dir, sizeof(dir), "thin");
	snprintf(xml, sizeof(xml), "%s/m.xml", dir);
	snprintf(meta, sizeof(meta), "%s/m.bin", dir);
	static const char doc[] =
		"<superblock uuid=\"\" time=\"1\" transaction=\"2\" flags=\"0\" version=\"2\" data_block_size=\"128\" "
		"nr_data_blocks=\"1000\">\n"
		"  <device dev_id=\"1\" mapped_blocks=\"4\" transaction=\"0\" creation_time=\"0\" snap_time=\"1\">\n"
		"    <range_mapping origin_begin=\"0\" data_begin=\"0\" length=\"4\" time=\"0\"/>\n"
		"  </device>\n"
		"  <device dev_id=\"2\" mapped_blocks=\"6\" transaction=\"1\" creation_time=\"1\" snap_time=\"1\">\n"
		"    <single_mapping origin_block=\"0\" data_block=\"0\" time=\"0\"/>\n"
		"    <single_mapping origin_block=\"1\" data_block=\"10\" time=\"1\"/>\n"
		"    <range_mapping origin_begin=\"2\" data_begin=\"2\" length=\"2\" time=\"0\"/>\n"
		"    <range_mapping origin_begin=\"5\" data_begin=\"11\" length=\"2\" time=\"1\"/>\n"
		"  </device>\n"
		"</superblock>\n";
	th_write_file(xml, doc, sizeof(doc) - 1);
	snprintf(cmd, sizeof(cmd), "truncate -s 8M '%s' && thin_restore -q -i '%s' -o '%s' >/dev/null 2>&1", meta, xml,
		 meta);
	assert_int_equal(system(cmd), 0);
	struct cairn_change_map m = CAIRN_CHANGE_MAP_INIT;
	ck_ok(cairn_thin_delta_run(meta, 1, 2, false, 1ull << 30, &m));
	assert_string_equal(m.method, "thin-delta");
	assert_int_equal(m.n, 2);
	assert_int_equal(m.v[0].off, 64 * KiB);
	assert_int_equal(m.v[0].len, 64 * KiB);
	assert_int_equal(m.v[1].off, 5 * 64 * KiB);
	assert_int_equal(m.v[1].len, 2 * 64 * KiB);
	cairn_change_map_free(&m);
	/* A device the metadata does not have: one clear error. */
	assert_true(cairn_thin_delta_run(meta, 1, 9, false, 1ull << 30, &m) < 0);
	assert_non_null(strstr(cairn_error_message(), "thin_delta"));
	cairn_change_map_free(&m);
	th_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_lvs),
		cmocka_unit_test(test_dm_name),
		cmocka_unit_test(test_parse_delta),
		cmocka_unit_test(test_thin_delta_tool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
