//! Plain-text result tables: the first column left-aligned, the others right-aligned, a dashed
//! rule under the header, no trailing blanks.

/// Renders `header` and `rows` as a table; rows shorter than the header get empty cells.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, width) in widths.iter().copied().enumerate() {
            let cell = cells.get(i).map(String::as_str).unwrap_or_default();
            if i == 0 {
                out.push_str(&format!("{cell:<width$}"));
            } else {
                out.push_str(&format!("  {cell:>width$}"));
            }
        }
        let mut out = out.trim_end().to_string();
        out.push('\n');
        out
    };
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let mut out = line(&header);
    out.push_str(&line(
        &widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>(),
    ));
    for row in rows {
        out.push_str(&line(row));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_column_left_others_right() {
        let text = render(
            &["what", "value"],
            &[
                vec!["a".into(), "1".into()],
                vec!["longer name".into(), "12345".into()],
                vec!["short row".into()],
            ],
        );
        assert_eq!(
            text,
            "\
what         value
-----------  -----
a                1
longer name  12345
short row
"
        );
    }
}
