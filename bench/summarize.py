#!/usr/bin/env python3
"""Summarize a bench/run.sh raw result file (run, image, tool, metric, value
TSV) into markdown tables of medians, per image, with the CPU and restore
floors measured in the same run and the issue's targets marked met or not.
Usage: summarize.py RAW.tsv [META.txt]"""
import re
import statistics
import sys

MiB = 1 << 20
NAMES = {
    'cairn': 'cairn (defaults: snapshot and compression auto)',
    'restic': 'restic 0.14 (zstd auto)',
    'borg-fixed': 'borg 1.2 fixed 64 KiB, lz4',
    'borg-default': 'borg 1.2 buzhash (default), lz4',
}
S3_NAMES = {
    'cairn-s3': 'cairn, s3://',
    'restic-s3': 'restic 0.14, S3 backend',
}
IMAGE_TITLES = {
    'synthetic': 'synthetic image (bench/make_image.sh: 4 GiB, generated files)',
    'real': 'real-files image (bench/make_real_image.sh: 2 GiB, installed system files)',
}


def load(path):
    data, images, order, runs = {}, [], {}, set()
    with open(path) as f:
        next(f)
        for line in f:
            run, image, tool, metric, value = line.rstrip('\n').split('\t')
            runs.add(run)
            if image not in data:
                data[image] = {}
                images.append(image)
                order[image] = []
            if tool not in data[image]:
                data[image][tool] = {}
                order[image].append(tool)
            data[image][tool].setdefault(metric, []).append(value)
    return data, images, order, len(runs)


def med(d, metric):
    if d is None:
        return None
    vals = []
    for v in d.get(metric, []):
        try:
            vals.append(float(v))
        except ValueError:
            pass
    return statistics.median(vals) if vals else None


def last(d, metric):
    v = (d or {}).get(metric)
    return v[-1] if v else None


def fs(x, nd=2):
    return 'n/a' if x is None else '%.*f' % (nd, x)


def fmib(x):
    return 'n/a' if x is None else '%.1f' % (x / MiB)


def ratio(a, b):
    """a / b as '1.23x', or n/a"""
    return 'n/a' if a is None or not b else '%.2fx' % (a / b)


def verified(d, nruns):
    ver = d.get('verify', [])
    if not ver:
        return 'n/a'
    bad = sum(v != 'ok' for v in ver)
    return 'ok' if not bad else '%d/%d FAIL' % (bad, len(ver))


def floor_key(level):
    return 'lz4' if level == 'lz4' else 'zstd' + level


def image_section(image, data, order, nruns, changed):
    out = ['## %s' % IMAGE_TITLES.get(image, image), '']
    tools = data[image]
    restic, borg = tools.get('restic'), tools.get('borg-fixed')
    cairn = tools.get('cairn')
    floor = tools.get('floor')
    level = last(floor, 'level') or '3'
    fk = floor_key(level)

    main = [t for t in order if t in NAMES]
    if main:
        out += ['| tool | full s | full CPU-s | incremental s | incremental CPU-s | added by incremental MiB '
                '| restore s | restore CPU-s | repo after full MiB | repo after both MiB | peak RSS MiB '
                '| full vs restic | full vs borg fixed | incremental vs restic | restore vs restic | restore verified |',
                '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|']
        for t in main:
            d = tools[t]
            name = NAMES[t]
            fails = len(d.get('failed', []))
            if fails:
                name += ' (failed in %d of %d runs)' % (fails, nruns)
            rss = med(d, 'rss_kib')
            row = [name, fs(med(d, 'full_s')), fs(med(d, 'full_cpu')), fs(med(d, 'incr_s')),
                   fs(med(d, 'incr_cpu')), fmib(med(d, 'added_b')), fs(med(d, 'restore_s')),
                   fs(med(d, 'restore_cpu')), fmib(med(d, 'repo_full_b')), fmib(med(d, 'repo_both_b')),
                   'n/a' if rss is None else '%.0f' % (rss / 1024),
                   ratio(med(restic, 'full_s'), med(d, 'full_s')),
                   ratio(med(borg, 'full_s'), med(d, 'full_s')),
                   ratio(med(restic, 'incr_s'), med(d, 'incr_s')),
                   ratio(med(restic, 'restore_s'), med(d, 'restore_s')),
                   verified(d, nruns)]
            out.append('| ' + ' | '.join(row) + ' |')
        out += ['', 'Ratios are the other tool\'s time / this tool\'s time (above 1 = this tool is faster). '
                'CPU-s = user + sys CPU-seconds of the step (and its sync), from /usr/bin/time.']
        if cairn:
            bits = []
            for m, label in (('full_snapshot', 'full backup snapshot'), ('full_consistency', 'consistency'),
                             ('incr_snapshot', 'incremental snapshot'), ('incr_consistency', 'consistency')):
                v = last(cairn, m)
                if v:
                    bits.append('%s "%s"' % (label, v))
            v = med(cairn, 'full_snapshot_s')
            if v is not None:
                bits.append('snapshot_seconds of the full backup %.2f' % v)
            ct = last(cairn, 'incr_change_tracking')
            if ct:
                bits.append('change_tracking "%s"' % ct)
            for m, label in (('incr_stored_b', 'bytes_stored'), ('incr_new_b', 'bytes_new')):
                v = med(cairn, m)
                if v is not None:
                    bits.append('incremental %s %.1f MiB' % (label, v / MiB))
            if bits:
                out.append('cairn (--json): ' + ', '.join(bits) + '.')
        if changed is not None:
            out.append('Changed between base.img and changed.img: %d bytes (%s MiB, differing 4 KiB blocks).'
                       % (changed, fmib(changed)))
        out.append('')

    if floor and med(floor, 'nonzero_b'):
        n = med(floor, 'nonzero_b')
        cores = med(floor, 'cores') or 1
        out += ['### Floors (measured in this run)', '',
                '| measure | value |', '|---|---:|',
                '| non-zero data (64 KiB blocks of base.img) | %s MiB |' % fmib(n),
                '| HMAC-SHA-256, one core (openssl speed, 64 KiB) | %.0f MB/s |' % (med(floor, 'hmac_bps') / 1e6),
                '| AES-256-GCM seal / open, one core | %.0f / %.0f MB/s |'
                % (med(floor, 'aes_bps') / 1e6, med(floor, 'aes_dec_bps') / 1e6)]
        names = sorted({k[:-len('_cbps')] for k in floor if k.endswith('_cbps') and '_b_' not in k},
                       key=lambda x: (x == 'lz4', int(x[4:]) if x.startswith('zstd') else 0))
        for c in names:
            label = ('zstd level %s' % c[4:]) if c.startswith('zstd') else 'lz4'
            cli = ('zstd -b%s -B64K' % c[4:]) if c.startswith('zstd') else 'lz4 -b1 -B4'
            bc, bd = med(floor, c + '_b_cbps'), med(floor, c + '_b_dbps')
            out.append('| %s, 64 KiB blocks of the image\'s data, one core (CPU time; `%s` by wall clock) '
                       '| %.0f MB/s compress, %.0f MB/s decompress, %.2f:1 (%s / %s MB/s) |'
                       % (label, cli, med(floor, c + '_cbps') / 1e6, med(floor, c + '_dbps') / 1e6,
                          med(floor, c + '_ratio'), fs(bc and bc / 1e6, 0), fs(bd and bd / 1e6, 0)))
        fl, flc = med(floor, 'floor_%s_s' % fk), med(floor, 'floor_%s_cpu_s' % fk)
        out.append('| CPU floor of a full backup (HMAC + %s + AES-GCM of the non-zero data), %d cores '
                   '| %s s (%s CPU-s) |' % (fk, cores, fs(fl), fs(flc)))
        rfl = med(floor, 'restore_floor_%s_s' % fk)
        out.append('| CPU floor of a restore (AES-GCM open + un-%s + HMAC check), %d cores | %s s |'
                   % (fk, cores, fs(rfl)))
        dd, ddb = med(floor, 'dd_direct_s'), med(floor, 'dd_buffered_s')
        out.append('| `dd bs=1M conv=sparse oflag=direct` of changed.img (+ sync) | %s s |' % fs(dd))
        out.append('| `dd bs=1M conv=sparse` buffered of changed.img + sync | %s s |' % fs(ddb))
        if cairn:
            cf, cc = med(cairn, 'full_s'), med(cairn, 'full_cpu')
            out.append('| **cairn full backup / CPU floor** | **%s** wall, %s CPU-s |'
                       % (ratio(cf, fl), ratio(cc, flc)))
            cr = med(cairn, 'restore_s')
            out.append('| **cairn restore / dd oflag=direct** | **%s** (restore CPU floor: %s) |'
                       % (ratio(cr, dd), ratio(cr, rfl)))
        out.append('')

    comps = [t for t in order if t.startswith('cairn-c:')]
    if comps:
        rr = med(restic, 'repo_full_b')
        out += ['### cairn compression settings', '',
                '| `cairn init --compression` | full s | full CPU-s | incremental s | repo after full MiB '
                '| repo after full vs restic | full / CPU floor of that compressor |',
                '|---|---:|---:|---:|---:|---:|---:|']
        for t in comps:
            d = tools[t]
            c = t[len('cairn-c:'):]
            name = c
            fails = len(d.get('failed', []))
            if fails:
                name += ' (failed in %d of %d runs)' % (fails, nruns)
            key = floor_key(c[5:]) if c.startswith('zstd:') else ('lz4' if c == 'lz4' else None)
            fl = med(floor, 'floor_%s_s' % key) if key else None
            out.append('| ' + ' | '.join([
                name, fs(med(d, 'full_s')), fs(med(d, 'full_cpu')), fs(med(d, 'incr_s')),
                fmib(med(d, 'repo_full_b')), ratio(med(d, 'repo_full_b'), rr),
                ratio(med(d, 'full_s'), fl)]) + ' |')
        out.append('')

    sweep = [t for t in order if t.startswith('cairn-') and not t.startswith('cairn-c:') and t not in S3_NAMES]
    if sweep:
        out += ['### cairn chunk-size sweep', '',
                '| chunk size | full s | incremental s | added by incremental MiB | bytes_stored by incremental MiB '
                '| repo delta / changed byte | repo after both MiB | peak RSS MiB |',
                '|---|---:|---:|---:|---:|---:|---:|---:|']
        for t in sweep:
            d = tools[t]
            added, rss = med(d, 'added_b'), med(d, 'rss_kib')
            out.append('| ' + ' | '.join([
                t[len('cairn-'):], fs(med(d, 'full_s')), fs(med(d, 'incr_s')), fmib(added),
                fmib(med(d, 'incr_stored_b')),
                'n/a' if added is None or not changed else '%.2f' % (added / changed),
                fmib(med(d, 'repo_both_b')), 'n/a' if rss is None else '%.0f' % (rss / 1024)]) + ' |')
        out.append('')

    s3 = [t for t in order if t in S3_NAMES]
    if s3:
        rs = tools.get('restic-s3')
        out += ['### S3: Ceph RGW on loopback', '',
                'Both tools against the same fresh RGW (memstore OSD, objects in RAM) on 127.0.0.1; '
                'repository size is what RGW accounts for the bucket.', '',
                '| tool | full s | full CPU-s | incremental s | restore s | restore CPU-s | repo after both MiB '
                '| HTTP requests per stored MiB (full) | peak RSS MiB | full vs restic | restore vs restic '
                '| restore verified |',
                '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|']
        for t in s3:
            d = tools[t]
            rpm, rss = med(d, 'requests_per_mib'), med(d, 'rss_kib')
            out.append('| ' + ' | '.join([
                S3_NAMES[t], fs(med(d, 'full_s')), fs(med(d, 'full_cpu')), fs(med(d, 'incr_s')),
                fs(med(d, 'restore_s')), fs(med(d, 'restore_cpu')), fmib(med(d, 'repo_both_b')),
                'n/a' if rpm is None else '%.2f' % rpm, 'n/a' if rss is None else '%.0f' % (rss / 1024),
                ratio(med(rs, 'full_s'), med(d, 'full_s')), ratio(med(rs, 'restore_s'), med(d, 'restore_s')),
                verified(d, nruns)]) + ' |')
        out.append('')

    if cairn:
        out += targets(tools, fk)
    return out


def met(ok):
    return 'n/a' if ok is None else ('**met**' if ok else 'not met')


def targets(tools, fk):
    cairn, restic, borg, floor = tools['cairn'], tools.get('restic'), tools.get('borg-fixed'), tools.get('floor')
    cf = med(cairn, 'full_s')
    rf, bf = med(restic, 'full_s'), med(borg, 'full_s')
    fl = med(floor, 'floor_%s_s' % fk)
    vr = rf / cf if rf and cf else None
    vb = bf / cf if bf and cf else None
    vf = cf / fl if cf and fl else None
    ok1 = None
    if vf is not None or (vr is not None and vb is not None):
        ok1 = (vr is not None and vb is not None and vr >= 3 and vb >= 2) or (vf is not None and vf <= 1.15)
    rows = [('full backup, default snapshot mode: >= 3x restic and >= 2x borg fixed, or <= 1.15x the CPU floor',
             '%s restic, %s borg fixed, %s the floor' % (ratio(rf, cf), ratio(bf, cf), ratio(cf, fl)), met(ok1))]
    cr, rr = med(cairn, 'repo_full_b'), med(restic, 'repo_full_b')
    rows.append(('repository after the full backup <= 1.1x restic\'s (default compression)',
                 '%s (%s MiB vs %s MiB)' % (ratio(cr, rr), fmib(cr), fmib(rr)),
                 met(None if not cr or not rr else cr <= 1.1 * rr)))
    comps = {t: med(d, 'repo_full_b') for t, d in tools.items() if t.startswith('cairn-c:')}
    comps = {t: v for t, v in comps.items() if v}
    if comps and rr:
        best = min(comps, key=comps.get)
        rows.append(('repository with the strongest level offered <= restic\'s',
                     '%s with %s (smallest of the sweep)' % (ratio(comps[best], rr), best[len('cairn-c:'):]),
                     met(comps[best] <= rr)))
    crs, rrs = med(cairn, 'restore_s'), med(restic, 'restore_s')
    dd = med(floor, 'dd_direct_s')
    ok = None
    if crs and rrs and dd:
        ok = rrs / crs >= 3 and crs / dd <= 1.3
    rows.append(('restore >= 3x restic (both synced) and <= 1.3x dd oflag=direct',
                 '%s restic, %s dd' % (ratio(rrs, crs), ratio(crs, dd)), met(ok)))
    ci, ri = med(cairn, 'incr_s'), med(restic, 'incr_s')
    rows.append(('incremental after the 1%% change (snapshot "%s"): >= 8x restic' % (last(cairn, 'incr_snapshot') or '?'),
                 ratio(ri, ci), met(None if not ci or not ri else ri / ci >= 8)))
    out = ['### Targets (issue 17)', '', '| target | this run | |', '|---|---|---|']
    out += ['| %s | %s | %s |' % r for r in rows]
    out.append('')
    return out


def main():
    data, images, order, nruns = load(sys.argv[1])
    meta = open(sys.argv[2]).read().strip().splitlines() if len(sys.argv) > 2 else []
    changed = {}
    for line in meta:
        m = re.match(r'changed (\S+): \d+ blocks of 4 KiB = (\d+) bytes', line)
        if m:
            changed[m.group(1)] = int(m.group(2))
    out = ['# cairn benchmark: latest results', '',
           'Produced by `bench/run.sh` (`make bench`); method in docs/benchmarks.md.',
           'Medians over %d run(s); page cache dropped before every timed step, then (cache:' % nruns,
           "warm) the step's input (source image or repository) pre-read into it; every step",
           'ends with `sync` inside the timing.', '', '```']
    out += meta
    out += ['```', '']
    for image in images:
        out += image_section(image, data, order[image], nruns, changed.get(image))
    print('\n'.join(out))


if __name__ == '__main__':
    main()
