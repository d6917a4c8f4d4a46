//! Plain-text formatting: tables, durations, sizes, dates.

use std::time::Duration;

/// Left-aligned columns separated by two spaces; the last column is not padded.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let n = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(n) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (i, cell) in cells.enumerate() {
            if i + 1 < n {
                l.push_str(cell);
                let pad = widths[i] - cell.chars().count();
                l.extend(std::iter::repeat_n(' ', pad + 2));
            } else {
                l.push_str(cell);
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&mut headers.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

/// `850µs`, `12.3ms`, `1.25s`, `2m03s`.
pub(crate) fn duration(d: Duration) -> String {
    let us = d.as_micros();
    if us < 1_000 {
        format!("{us}µs")
    } else if us < 1_000_000 {
        format!("{:.1}ms", us as f64 / 1e3)
    } else if us < 60_000_000 {
        format!("{:.2}s", us as f64 / 1e6)
    } else {
        let s = d.as_secs();
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// Microseconds as [`duration`].
pub(crate) fn micros(us: u64) -> String {
    duration(Duration::from_micros(us))
}

/// `512 B`, `1.2 kB`, `3.4 MB`, `1.0 GB` (powers of 1000, as `--max-size` reads them).
pub(crate) fn size(bytes: u64) -> String {
    bytesize::ByteSize(bytes).display().si().to_string()
}

/// Parses `100MB`, `1.5GiB`, `200k`, `4096`: B, kB/MB/GB/TB (powers of 1000) and
/// KiB/MiB/GiB/TiB (powers of 1024), case-insensitive; a bare number is bytes. Every size
/// option of the CLI (`--max-size`, `--memory-budget`) reads its value with this.
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    s.trim()
        .parse::<bytesize::ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|e| {
            format!(
                "`{s}` is not a size ({e}); write a number with an optional unit, like `100MB` \
                 or `2GiB` (kB, MB, GB, TB: powers of 1000; KiB, MiB, GiB, TiB: of 1024)"
            )
        })
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS` (UTC).
pub(crate) fn utc(unix: f64) -> String {
    let t = std::time::UNIX_EPOCH + Duration::from_secs(unix.max(0.0) as u64);
    // `2023-11-14T22:13:20Z`, shown with a space and without the zone letter.
    let text = humantime::format_rfc3339_seconds(t).to_string();
    text.trim_end_matches('Z').replacen('T', " ", 1)
}

/// `s` cut to `max` characters, with `…` when cut.
pub(crate) fn truncate(s: &str, max: usize) -> (String, bool) {
    if s.chars().count() <= max {
        (s.to_string(), false)
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        (t, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(duration(Duration::from_micros(850)), "850µs");
        assert_eq!(duration(Duration::from_micros(12_340)), "12.3ms");
        assert_eq!(duration(Duration::from_millis(1_250)), "1.25s");
        assert_eq!(duration(Duration::from_secs(123)), "2m03s");
        assert_eq!(size(512), "512 B");
        assert_eq!(size(1_234), "1.2 kB");
        assert_eq!(size(3_400_000), "3.4 MB");
        assert_eq!(utc(0.0), "1970-01-01 00:00:00");
        assert_eq!(utc(1_700_000_000.0), "2023-11-14 22:13:20");
        assert_eq!(truncate("abcdef", 4), ("abc…".to_string(), true));
        assert_eq!(truncate("abc", 4), ("abc".to_string(), false));
    }

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_size("100MB"), Ok(100_000_000));
        assert_eq!(parse_size("1.5 GiB"), Ok(1_610_612_736));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("2k"), Ok(2000));
        assert!(parse_size("lots").unwrap_err().contains("not a size"));
        let e = parse_size("3 parsecs").unwrap_err();
        assert!(
            e.contains("`3 parsecs` is not a size") && e.contains("parsecs"),
            "{e}"
        );
    }

    #[test]
    fn tables_align() {
        let t = table(
            &["A", "BB"],
            &[vec!["xxx".into(), "y".into()], vec!["z".into(), "".into()]],
        );
        assert_eq!(t, "A    BB\nxxx  y\nz\n");
    }
}
