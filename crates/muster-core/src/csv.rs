//! RFC 4180 records (quoted fields, doubled quotes, CRLF or LF), each with the line it
//! starts on, so a rejected row can be pointed at. Small enough not to need a crate.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: a quoted field is never closed")]
pub struct CsvError {
    pub line: usize,
}

/// Splits `text` into records; blank lines are skipped.
pub fn records(text: &str) -> Result<Vec<(usize, Vec<String>)>, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut start = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            ',' => fields.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                fields.push(std::mem::take(&mut field));
                push_record(&mut out, start, std::mem::take(&mut fields));
                line += 1;
                start = line;
            }
            _ => field.push(c),
        }
    }
    if quoted {
        return Err(CsvError { line: start });
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        push_record(&mut out, start, fields);
    }
    Ok(out)
}

fn push_record(out: &mut Vec<(usize, Vec<String>)>, line: usize, fields: Vec<String>) {
    let blank = fields.iter().all(|f| f.trim().is_empty());
    if !blank {
        out.push((line, fields));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_and_line_numbers() {
        let text = "a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n\n\"multi\nline\",z\nlast,1";
        let parsed = records(text).unwrap_or_default();
        assert_eq!(
            parsed,
            vec![
                (1, vec!["a".into(), "b".into()]),
                (2, vec!["x, y".into(), "say \"hi\"".into()]),
                (4, vec!["multi\nline".into(), "z".into()]),
                (6, vec!["last".into(), "1".into()]),
            ]
        );
        assert_eq!(records("\"open"), Err(CsvError { line: 1 }));
    }
}
