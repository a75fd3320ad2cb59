//! The result table every `neuvis bench` prints: markdown on stdout (for BENCHMARKS.md), or with
//! `--json` one object with the same rows, each a map from column name to value.

use serde_json::{json, Map, Value};

/// One benchmark's result table.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    bench: &'static str,
    title: String,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
    notes: Vec<String>,
}

/// A cell as JSON: numbers as numbers (a trailing `×` or `%` dropped), `–` and empty cells as
/// null, anything else as text.
fn cell_json(c: &str) -> Value {
    let t = c.trim();
    if t.is_empty() || t == "–" || t == "-" {
        return Value::Null;
    }
    let n = t.trim_end_matches(['×', '%']).trim();
    if let Ok(i) = n.parse::<i64>() {
        return json!(i);
    }
    match n.parse::<f64>() {
        Ok(v) if v.is_finite() => json!(v),
        _ => json!(t),
    }
}

impl Table {
    /// A table of benchmark `bench` (the subcommand's name) with a one-line title and columns.
    pub fn new(bench: &'static str, title: impl Into<String>, columns: &[&str]) -> Table {
        Table {
            bench,
            title: title.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds a row (as many cells as columns; missing cells stay empty).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Adds a line printed under the table (and kept in the JSON's `notes`).
    pub fn note(&mut self, line: impl Into<String>) {
        self.notes.push(line.into());
    }

    /// The table as markdown: the title, a blank line, the table, then the notes.
    pub fn markdown(&self) -> String {
        let mut s = format!("{}\n\n| {} |\n|", self.title, self.columns.join(" | "));
        for i in 0..self.columns.len() {
            s.push_str(if i == 0 { "---|" } else { "---:|" });
        }
        s.push('\n');
        for r in &self.rows {
            let mut cells = r.clone();
            cells.resize(self.columns.len(), String::new());
            s.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        for n in &self.notes {
            s.push_str(&format!("\n{n}"));
        }
        if !self.notes.is_empty() {
            s.push('\n');
        }
        s
    }

    /// The table as one JSON object: `benchmark`, `title`, `columns`, `rows` (objects keyed by
    /// column), `notes`.
    pub fn json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                let m: Map<String, Value> = self
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.clone(), r.get(i).map_or(Value::Null, |v| cell_json(v))))
                    .collect();
                Value::Object(m)
            })
            .collect();
        json!({
            "benchmark": self.bench,
            "title": self.title,
            "columns": self.columns,
            "rows": rows,
            "notes": self.notes,
            "threads": rayon::current_num_threads(),
        })
    }

    /// Prints the table: markdown on stdout, or under `--json` the JSON object (and nothing else)
    /// on stdout.
    pub fn print(&self) {
        if neuvis_cli::report::json_mode() {
            neuvis_cli::report::emit_json(self.json());
        } else {
            println!("\n{}", self.markdown());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_rows_are_keyed_by_column_with_numbers_as_numbers() {
        let mut t = Table::new("x", "title", &["method", "ms", "speed-up", "note"]);
        t.row(vec!["a".into(), "1.50".into(), "3.2×".into(), "–".into()]);
        t.row(vec!["b".into(), "failed: boom".into()]);
        let j = t.json();
        assert_eq!(j["rows"][0]["ms"], json!(1.5));
        assert_eq!(j["rows"][0]["speed-up"], json!(3.2));
        assert_eq!(j["rows"][0]["note"], Value::Null);
        assert_eq!(j["rows"][1]["ms"], json!("failed: boom"));
        assert_eq!(j["rows"][1]["note"], Value::Null);
        let md = t.markdown();
        assert!(md.contains("| method | ms | speed-up | note |\n|---|---:|---:|---:|\n| a | 1.50 | 3.2× | – |\n| b | failed: boom |  |  |\n"), "{md}");
    }
}
