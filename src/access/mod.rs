//! Who may do what: the station's accounts (argon2 password hashes) and API tokens, the
//! four roles and what each allows, and the audit trail of every state-changing action
//! from the web, the API or the command line. All of it lives in the station's database
//! (the airtime log's file), so one backup keeps the log and who made it.

pub mod limit;

use std::path::Path;

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::airtime::Store;

/// A role, from least to most allowed: each role may do what the ones below it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees what airs, the library, the plan and the log.
    Viewer,
    /// Also uploads, records, plays, skips, stops, goes live, sends an emergency.
    Operator,
    /// Also approves items for air and makes the month's report.
    Approver,
    /// Also manages accounts and tokens, edits the schedule, reads the audit trail.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Operator, Role::Approver, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Approver => "approver",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role `{s}`: one of admin, approver, operator, viewer"))
    }

    /// Whether this role may do what needs `needed`.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

/// An account as listed (never its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

/// One state-changing action: who, from where, what, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// A user, a token's name, or `cli:<unix user>`.
    pub who: String,
    /// The transport: `http`, `api` (a token), `unix` (the control socket), `cli` (the
    /// database directly: accounts).
    pub via: String,
    /// The client's address, when it has one.
    pub address: Option<String>,
    /// What was asked: `login`, `play`, `skip`, `user.add`, `schedule.save`…
    pub action: String,
    /// What it was asked of: an item, a category, a user.
    pub target: Option<String>,
    /// `ok`, or the error code that refused it.
    pub outcome: String,
}

/// Why an account operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Invalid(String),
    #[error("no user `{0}` — `loaxa user list` shows the accounts")]
    NoSuchUser(String),
    #[error("a user `{0}` exists already — `loaxa user passwd {0}` changes its password")]
    Exists(String),
    #[error(transparent)]
    Db(#[from] crate::airtime::Error),
}

/// The accounts, tokens and audit trail of one station.
pub struct Access {
    store: Store,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn at(v: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(v).single().unwrap_or_default()
}

/// A user name: 1–32 of a–z, 0–9, `.`, `_`, `-` (typed on a phone keyboard, in a URL).
pub fn check_name(name: &str) -> Result<(), Error> {
    let ok = (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "`{name}` is not a valid name: use 1 to 32 of a-z, 0-9, `.`, `_`, `-`"
        )))
    }
}

fn check_password(p: &str) -> Result<(), Error> {
    if p.chars().count() < 8 {
        return Err(Error::Invalid(
            "the password is too short: use at least 8 characters".into(),
        ));
    }
    Ok(())
}

/// argon2id with 7 MiB and 5 passes, one of OWASP's equivalent settings (the crate's
/// default is 19 MiB and 2): as costly to guess, but the memory a login takes and glibc
/// keeps afterwards is a third (the daemon's idle size matters on a commune PC).
fn hasher() -> Argon2<'static> {
    let params = argon2::Params::new(7 * 1024, 5, 1, None).expect("valid argon2 parameters");
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

/// Gives the hashing memory back to the system (glibc keeps freed large blocks otherwise).
fn trim() {
    // SAFETY: malloc_trim only releases free memory; it has no preconditions.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::malloc_trim(0);
    }
}

fn hash(password: &str) -> Result<String, Error> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| Error::Invalid(format!("no random source: {e}")))?;
    let salt = SaltString::encode_b64(&b)
        .map_err(|e| Error::Invalid(format!("cannot hash the password: {e}")))?;
    let h = hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Invalid(format!("cannot hash the password: {e}")));
    trim();
    h
}

/// A hash that never matches, verified against when the user does not exist, so a wrong
/// name takes as long as a wrong password.
fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash("không có người dùng này").unwrap_or_default())
}

/// A new random secret (256 bits), URL-safe.
pub fn secret() -> String {
    use base64::Engine;
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("the system's random source");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// Tokens are long random secrets: a fast hash is enough to keep them out of the file.
fn token_hash(secret: &str) -> String {
    blake3::hash(secret.as_bytes()).to_hex().to_string()
}

impl Access {
    /// Opens the station's database at `path` (creating or migrating it).
    pub fn open(path: &Path) -> Result<Access, Error> {
        Ok(Access {
            store: Store::open(path)?,
        })
    }

    fn conn(&self) -> &rusqlite::Connection {
        self.store.conn()
    }

    fn db(&self, e: rusqlite::Error) -> Error {
        Error::Db(self.store.db_error(e))
    }

    pub fn add_user(
        &self,
        name: &str,
        role: Role,
        password: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        check_name(name)?;
        check_password(password)?;
        let h = hash(password)?;
        let n = self
            .conn()
            .execute(
                "INSERT OR IGNORE INTO users (name, role, hash, created_at, changed_at)
                 VALUES (?1, ?2, ?3, ?4, ?4)",
                params![name, role.as_str(), h, ms(now)],
            )
            .map_err(|e| self.db(e))?;
        if n == 0 {
            return Err(Error::Exists(name.into()));
        }
        Ok(())
    }

    pub fn set_password(
        &self,
        name: &str,
        password: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        check_password(password)?;
        let h = hash(password)?;
        let n = self
            .conn()
            .execute(
                "UPDATE users SET hash = ?2, changed_at = ?3 WHERE name = ?1",
                params![name, h, ms(now)],
            )
            .map_err(|e| self.db(e))?;
        if n == 0 {
            return Err(Error::NoSuchUser(name.into()));
        }
        Ok(())
    }

    pub fn remove_user(&self, name: &str) -> Result<(), Error> {
        let n = self
            .conn()
            .execute("DELETE FROM users WHERE name = ?1", params![name])
            .map_err(|e| self.db(e))?;
        if n == 0 {
            return Err(Error::NoSuchUser(name.into()));
        }
        Ok(())
    }

    pub fn users(&self) -> Result<Vec<User>, Error> {
        self.listed("SELECT name, role, created_at FROM users ORDER BY name")
    }

    /// The accounts or tokens `sql` selects (name, role, created_at), as users.
    fn listed(&self, sql: &'static str) -> Result<Vec<User>, Error> {
        let mut st = self.conn().prepare(sql).map_err(|e| self.db(e))?;
        let rows = st
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?))
            })
            .map_err(|e| self.db(e))?;
        let mut out = vec![];
        for r in rows {
            let (name, role, created) = r.map_err(|e| self.db(e))?;
            out.push(User {
                name,
                role: Role::parse(&role).unwrap_or(Role::Viewer),
                created_at: at(created),
            });
        }
        Ok(out)
    }

    /// The account, if `password` is its password. Takes as long for an unknown name.
    pub fn login(&self, name: &str, password: &str) -> Result<Option<User>, Error> {
        let row: Option<(String, String, i64)> = self
            .conn()
            .query_row(
                "SELECT role, hash, created_at FROM users WHERE name = ?1",
                params![name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| self.db(e))?;
        let stored = row.as_ref().map(|r| r.1.as_str()).unwrap_or(dummy_hash());
        // The parameters come from the stored hash itself.
        let ok = PasswordHash::new(stored)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false);
        trim();
        Ok(match row {
            Some((role, _, created)) if ok => Some(User {
                name: name.into(),
                role: Role::parse(&role).unwrap_or(Role::Viewer),
                created_at: at(created),
            }),
            _ => None,
        })
    }

    /// The role of an account now (None once removed): a session is checked against it
    /// at each request, so a removed or demoted account loses its rights at once.
    pub fn role_of(&self, name: &str) -> Result<Option<Role>, Error> {
        let r: Option<String> = self
            .conn()
            .query_row(
                "SELECT role FROM users WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.db(e))?;
        Ok(r.and_then(|r| Role::parse(&r).ok()))
    }

    /// A new API token for `name`; the secret is returned once and only its hash kept.
    pub fn add_token(&self, name: &str, role: Role, now: DateTime<Utc>) -> Result<String, Error> {
        check_name(name)?;
        let s = secret();
        let n = self
            .conn()
            .execute(
                "INSERT OR IGNORE INTO tokens (name, role, hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![name, role.as_str(), token_hash(&s), ms(now)],
            )
            .map_err(|e| self.db(e))?;
        if n == 0 {
            return Err(Error::Invalid(format!(
                "a token `{name}` exists already — `loaxa token remove {name}` first"
            )));
        }
        Ok(s)
    }

    pub fn remove_token(&self, name: &str) -> Result<(), Error> {
        let n = self
            .conn()
            .execute("DELETE FROM tokens WHERE name = ?1", params![name])
            .map_err(|e| self.db(e))?;
        if n == 0 {
            return Err(Error::Invalid(format!(
                "no token `{name}` — `loaxa token list` shows them"
            )));
        }
        Ok(())
    }

    pub fn tokens(&self) -> Result<Vec<User>, Error> {
        self.listed("SELECT name, role, created_at FROM tokens ORDER BY name")
    }

    /// The token's name and role, if `secret` is a token's secret.
    pub fn token(&self, secret: &str) -> Result<Option<User>, Error> {
        self.conn()
            .query_row(
                "SELECT name, role, created_at FROM tokens WHERE hash = ?1",
                params![token_hash(secret)],
                |r| {
                    Ok(User {
                        name: r.get(0)?,
                        role: Role::parse(&r.get::<_, String>(1)?).unwrap_or(Role::Viewer),
                        created_at: at(r.get(2)?),
                    })
                },
            )
            .optional()
            .map_err(|e| self.db(e))
    }

    pub fn record(&self, e: &AuditEntry) -> Result<(), Error> {
        self.conn()
            .execute(
                "INSERT INTO audit (at, who, via, address, action, target, outcome)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    ms(e.at),
                    e.who,
                    e.via,
                    e.address,
                    e.action,
                    e.target,
                    e.outcome
                ],
            )
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    /// The audit trail from `from` (inclusive) to `to` (exclusive), oldest first.
    pub fn audit(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<AuditEntry>, Error> {
        let mut st = self
            .conn()
            .prepare(
                "SELECT at, who, via, address, action, target, outcome FROM audit
                 WHERE at >= ?1 AND at < ?2 ORDER BY at, id",
            )
            .map_err(|e| self.db(e))?;
        let rows = st
            .query_map(params![ms(from), ms(to)], |r| {
                Ok(AuditEntry {
                    at: at(r.get(0)?),
                    who: r.get(1)?,
                    via: r.get(2)?,
                    address: r.get(3)?,
                    action: r.get(4)?,
                    target: r.get(5)?,
                    outcome: r.get(6)?,
                })
            })
            .map_err(|e| self.db(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.db(e))
    }
}

/// The person at the terminal, for the audit trail of command-line actions.
pub fn local_user() -> String {
    // SAFETY: getuid cannot fail.
    format!("cli:{}", user_name(unsafe { libc::getuid() }))
}

/// A Unix user's name, or its number if it has none.
pub fn user_name(uid: u32) -> String {
    let mut buf = vec![0 as libc::c_char; 1024];
    // SAFETY: getpwuid_r writes into `pw` and `buf` (of the length given) only, and the name
    // is read before either goes out of scope.
    unsafe {
        let mut pw: libc::passwd = std::mem::zeroed();
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let r = libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr(), buf.len(), &mut found);
        if r == 0 && !found.is_null() {
            if let Ok(n) = std::ffi::CStr::from_ptr(pw.pw_name).to_str() {
                return n.to_string();
            }
        }
    }
    uid.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_parse() {
        assert!(Role::Admin.allows(Role::Operator));
        assert!(Role::Approver.allows(Role::Operator));
        assert!(!Role::Operator.allows(Role::Approver));
        assert!(!Role::Viewer.allows(Role::Operator));
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        }
        assert!(Role::parse("root").unwrap_err().contains("admin, approver"));
    }

    #[test]
    fn accounts_hash_verify_and_refuse() {
        let d = tempfile::tempdir().unwrap();
        let a = Access::open(&d.path().join("s.db")).unwrap();
        let now = Utc::now();
        a.add_user("lan", Role::Operator, "mat-khau-1", now)
            .unwrap();
        assert!(matches!(
            a.add_user("lan", Role::Admin, "mat-khau-2", now),
            Err(Error::Exists(_))
        ));
        assert!(a
            .add_user("Lan Anh", Role::Admin, "mat-khau-2", now)
            .is_err());
        assert!(a.add_user("hoa", Role::Admin, "ngan", now).is_err());
        a.add_user("an", Role::Viewer, "mat-khau-3", now).unwrap();
        assert_eq!(
            names_and_roles(a.users().unwrap()),
            [("an".into(), Role::Viewer), ("lan".into(), Role::Operator)]
        );
        a.remove_user("an").unwrap();
        assert_eq!(
            a.login("lan", "mat-khau-1").unwrap().unwrap().role,
            Role::Operator
        );
        assert!(a.login("lan", "sai-mat-khau").unwrap().is_none());
        assert!(a.login("khong-ai", "mat-khau-1").unwrap().is_none());
        // The hash is argon2, never the password.
        let h: String = a
            .conn()
            .query_row("SELECT hash FROM users", [], |r| r.get(0))
            .unwrap();
        assert!(
            h.starts_with("$argon2id$v=19$m=7168,t=5,p=1$") && !h.contains("mat-khau"),
            "{h}"
        );
        a.set_password("lan", "mat-khau-moi", now).unwrap();
        assert!(a.login("lan", "mat-khau-1").unwrap().is_none());
        assert!(a.login("lan", "mat-khau-moi").unwrap().is_some());
        a.remove_user("lan").unwrap();
        assert!(matches!(a.remove_user("lan"), Err(Error::NoSuchUser(_))));
        assert!(a.users().unwrap().is_empty());
    }

    fn names_and_roles(listed: Vec<User>) -> Vec<(String, Role)> {
        listed.into_iter().map(|u| (u.name, u.role)).collect()
    }

    #[test]
    fn tokens_are_kept_hashed_and_found_by_secret() {
        let d = tempfile::tempdir().unwrap();
        let a = Access::open(&d.path().join("s.db")).unwrap();
        let s = a.add_token("tinh", Role::Operator, Utc::now()).unwrap();
        assert!(s.len() >= 43);
        assert_eq!(a.token(&s).unwrap().unwrap().name, "tinh");
        assert!(a.token("doan-bua").unwrap().is_none());
        assert!(a.add_token("tinh", Role::Operator, Utc::now()).is_err());
        a.add_token("cong-tinh", Role::Viewer, Utc::now()).unwrap();
        assert_eq!(
            names_and_roles(a.tokens().unwrap()),
            [
                ("cong-tinh".into(), Role::Viewer),
                ("tinh".into(), Role::Operator)
            ]
        );
        assert!(a.users().unwrap().is_empty(), "tokens are not accounts");
        a.remove_token("tinh").unwrap();
        assert!(a.token(&s).unwrap().is_none());
    }
}
