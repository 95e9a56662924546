//! Where every node of a YAML document is, by path (`programmes[2].segments[0].category`).
//!
//! serde_yaml reports a position only for the first syntax or type error and none for
//! values it accepted, yet `loaxa check` must put `FILE:LINE:COL` on every semantic error
//! (an unknown category, a bad cron field). A second, position-keeping pass with
//! yaml-rust2's event parser records the key and value position of each path.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use super::diag::Pos;

/// The key and value positions of one node.
#[derive(Debug, Clone, Copy)]
struct Span {
    key: Option<Pos>,
    value: Pos,
}

/// Path → position index of one YAML document.
#[derive(Debug, Default)]
pub struct Locator {
    spans: HashMap<String, Span>,
}

impl Locator {
    /// Indexes `text`; a document that does not parse gives an empty index (serde_yaml
    /// reports the syntax error itself).
    pub fn new(text: &str) -> Locator {
        let mut b = Builder::default();
        let mut parser = Parser::new_from_str(text);
        let _ = parser.load(&mut b, false);
        Locator { spans: b.spans }
    }

    /// Position of the value at `path`, else of the nearest ancestor that exists.
    pub fn value(&self, path: &str) -> Pos {
        self.find(path, |s| s.value)
    }

    /// Position of the key at `path` (where a misspelt or unknown key is), else its value.
    pub fn key(&self, path: &str) -> Pos {
        self.find(path, |s| s.key.unwrap_or(s.value))
    }

    fn find(&self, path: &str, pick: impl Fn(&Span) -> Pos) -> Pos {
        let mut p = path;
        loop {
            if let Some(s) = self.spans.get(p) {
                return pick(s);
            }
            match parent(p) {
                Some(up) => p = up,
                None => return self.spans.get("").map(|s| s.value).unwrap_or(Pos::START),
            }
        }
    }
}

/// `a.b[2].c` → `a.b[2]` → `a.b` → `a` → ``.
fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    Some(&path[..cut])
}

/// Joins a child key onto a path the way serde_path_to_error prints paths.
pub fn join_key(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

pub fn join_index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

fn pos(m: Marker) -> Pos {
    Pos {
        line: m.line(),
        col: m.col() + 1,
    }
}

enum Frame {
    Map {
        path: String,
        key: Option<(String, Marker)>,
        /// No key seen yet: the map's own position becomes its first key's.
        first: bool,
    },
    Seq {
        path: String,
        next: usize,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    spans: HashMap<String, Span>,
}

impl Builder {
    /// Called for each node start: returns its path, or None when the node is a map key.
    fn node(&mut self, scalar: Option<&str>, mark: Marker) -> Option<String> {
        let (path, key) = match self.stack.last_mut() {
            None => (String::new(), None),
            Some(Frame::Map { path, key, first }) => match key.take() {
                None => {
                    *key = Some((scalar.unwrap_or("?").to_string(), mark));
                    if std::mem::take(first) {
                        // A block map's start event sits at its first colon; its first
                        // key is where a person looks for it.
                        // (A flow map's `{` comes before its first key and stays.)
                        if let Some(s) = self.spans.get_mut(path.as_str()) {
                            let p = pos(mark);
                            if (p.line, p.col) < (s.value.line, s.value.col) {
                                s.value = p;
                            }
                        }
                    }
                    return None;
                }
                Some((k, km)) => (join_key(path, &k), Some(pos(km))),
            },
            Some(Frame::Seq { path, next }) => {
                *next += 1;
                (join_index(path, *next - 1), None)
            }
        };
        self.spans.entry(path.clone()).or_insert(Span {
            key,
            value: pos(mark),
        });
        Some(path)
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(ref v, ..) => {
                self.node(Some(v), mark);
            }
            Event::Alias(_) => {
                self.node(None, mark);
            }
            Event::MappingStart(..) => {
                let path = self.node(None, mark).unwrap_or_else(|| "?".into());
                self.stack.push(Frame::Map {
                    path,
                    key: None,
                    first: true,
                });
            }
            Event::SequenceStart(..) => {
                let path = self.node(None, mark).unwrap_or_else(|| "?".into());
                self.stack.push(Frame::Seq { path, next: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_and_values_by_path() {
        let text = "station:\n  name: X\nprogrammes:\n  - name: a\n    when: [\"0 6 * * *\", \"0 7 * * *\"]\n  - name: b\n";
        let l = Locator::new(text);
        assert_eq!(l.value("station.name"), Pos { line: 2, col: 9 });
        assert_eq!(l.key("station.name"), Pos { line: 2, col: 3 });
        assert_eq!(l.key("programmes[1].name"), Pos { line: 6, col: 5 });
        assert_eq!(l.value("programmes[0].when[1]"), Pos { line: 5, col: 25 });
        // a missing node falls back to its nearest ancestor
        assert_eq!(l.value("programmes[1].when"), l.value("programmes[1]"));
    }
}
