//! The HTTP API of a real daemon on loopback: accounts and roles, sessions and CSRF, the
//! login rate limit, commands and their audit trail, the schedule editor, the reads
//! (plan, airings, report) and the live events.

mod common;

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{stderr, tone, Site};
use serde_json::{json, Value};

/// A station with a `tin` category holding one 2-minute item, and the console on an
/// ephemeral port.
fn station() -> Site {
    let st = Site::new();
    st.write_config(&schedule(&common::far_daily(0).0));
    tone(
        &st.path().join("audio/tin/2026-01-01 ban tin.wav"),
        440.0,
        120.0,
        0.3,
        0.0,
    );
    st
}

fn schedule(when: &str) -> String {
    format!(
        r#"station:
  name: "Đài thử"
library:
  settle: 1s
categories:
  tin: {{name: Tin, pick: all}}
  duyet: {{name: "Cần duyệt", pick: all, approval: required}}
  khan-cap: {{name: "Khẩn cấp", priority: emergency}}
emergency:
  category: khan-cap
  repeat: 1
programmes:
  - name: "Sáng"
    when: "{when}"
    segments: [{{category: tin}}]
http:
  listen: 127.0.0.1:0
  max_upload: 3MB
"#
    )
}

struct Daemon {
    child: Child,
    port: u16,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(st: &Site) -> Daemon {
    let child = Command::new(common::bin())
        .args(["run", "--output", "null", "--config"])
        .arg(st.config())
        .current_dir(st.path())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(st.path().join("daemon.log")).unwrap())
        .spawn()
        .unwrap();
    // Held at once, so a failing start still stops the process.
    let mut d = Daemon { child, port: 0 };
    let t = Instant::now();
    while d.port == 0 {
        let o = st.run(&["status", "--format", "json"]);
        if o.status.success() {
            let v: Value = serde_json::from_slice(&o.stdout).unwrap();
            if let Some(c) = v["console"].as_str() {
                d.port = c
                    .trim_end_matches('/')
                    .rsplit(':')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                break;
            }
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the console did not start: {}",
            std::fs::read_to_string(st.path().join("daemon.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    d
}

fn add_user(st: &Site, name: &str, role: &str, password: &str) {
    let mut c = Command::new(common::bin())
        .args([
            "user",
            "add",
            name,
            "--role",
            role,
            "--password-stdin",
            "--config",
        ])
        .arg(st.config())
        .current_dir(st.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(c.stdin.take().unwrap(), "{password}").unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
}

/// One HTTP/1.1 request on its own connection.
fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = vec![];
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response");
    let text = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = text.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v == "chunked")
    {
        body = dechunk(&body);
    }
    Resp {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = vec![];
    loop {
        let nl = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&b[..nl]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[nl + 2..nl + 2 + n]);
        b = &b[nl + 4 + n..];
    }
}

/// A logged-in console session: its cookie and CSRF token.
struct Session {
    port: u16,
    cookie: String,
    csrf: String,
}

/// A new account of `role`, logged in.
fn signed_in(st: &Site, port: u16, name: &str, role: &str) -> Session {
    add_user(st, name, role, "mat-khau-dai");
    login(port, name, "mat-khau-dai")
        .unwrap_or_else(|e| panic!("{name} ({role}) could not log in: HTTP {}", e.status))
}

fn login(port: u16, user: &str, password: &str) -> Result<Session, Resp> {
    let body = json!({"user": user, "password": password}).to_string();
    let r = request(
        port,
        "POST",
        "/api/v1/session",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    if r.status != 200 {
        return Err(r);
    }
    let set = r.header("set-cookie").unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    Ok(Session {
        port,
        cookie: set.split(';').next().unwrap().to_string(),
        csrf: r.json()["csrf"].as_str().unwrap().to_string(),
    })
}

impl Session {
    fn get(&self, path: &str) -> Resp {
        request(self.port, "GET", path, &[("Cookie", &self.cookie)], b"")
    }
    fn send(&self, method: &str, path: &str, body: &str) -> Resp {
        request(
            self.port,
            method,
            path,
            &[
                ("Cookie", &self.cookie),
                ("X-CSRF-Token", &self.csrf),
                ("Content-Type", "application/json"),
            ],
            body.as_bytes(),
        )
    }
}

fn audit_rows(st: &Site) -> Vec<Value> {
    let o = st.run(&["audit", "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Each endpoint with the least role it needs: below it 403 (and nothing changes), from it
/// on no refusal; without a login 401.
#[test]
fn every_endpoint_answers_by_role() {
    let st = station();
    let d = start(&st);
    let roles = ["viewer", "operator", "approver", "admin"];
    for r in roles {
        add_user(&st, &format!("u-{r}"), r, "mat-khau-dai");
    }
    let sessions: Vec<Session> = roles
        .iter()
        .map(|r| {
            login(d.port, &format!("u-{r}"), "mat-khau-dai")
                .map_err(|e| e.status)
                .unwrap()
        })
        .collect();
    let schedule_text = std::fs::read_to_string(st.config()).unwrap();
    // (method, path, body, least role index)
    let cases: Vec<(&str, &str, String, usize)> = vec![
        ("GET", "/api/v1/status", String::new(), 0),
        ("GET", "/api/v1/library", String::new(), 0),
        ("GET", "/api/v1/library?category=tin", String::new(), 0),
        ("GET", "/api/v1/plan?days=2", String::new(), 0),
        ("GET", "/api/v1/airings?format=json", String::new(), 0),
        ("GET", "/api/v1/categories", String::new(), 0),
        (
            "GET",
            "/api/v1/items/tin/2026-01-01%20ban%20tin.wav/audio",
            String::new(),
            0,
        ),
        ("POST", "/api/v1/skip", String::new(), 1),
        ("DELETE", "/api/v1/items/tin/khong-co.wav", String::new(), 1),
        ("POST", "/api/v1/stop", String::new(), 1),
        (
            "POST",
            "/api/v1/play",
            json!({"category": "khong-co"}).to_string(),
            1,
        ),
        ("GET", "/api/v1/report?format=json", String::new(), 2),
        ("GET", "/api/v1/schedule", String::new(), 3),
        ("PUT", "/api/v1/schedule", schedule_text.clone(), 3),
        ("POST", "/api/v1/schedule/check", schedule_text.clone(), 3),
        ("GET", "/api/v1/schedule/history", String::new(), 3),
        ("POST", "/api/v1/reload", String::new(), 3),
        ("GET", "/api/v1/audit", String::new(), 3),
    ];
    for (method, path, body, least) in &cases {
        let anon = request(d.port, method, path, &[], body.as_bytes());
        assert_eq!(anon.status, 401, "{method} {path} without a login");
        for (i, s) in sessions.iter().enumerate() {
            let r = if *method == "GET" {
                s.get(path)
            } else {
                s.send(method, path, body)
            };
            if i < *least {
                assert_eq!(r.status, 403, "{method} {path} as {}", roles[i]);
                assert_eq!(r.code(), "forbidden");
            } else {
                assert!(
                    ![401, 403].contains(&r.status) && r.status < 500,
                    "{method} {path} as {}: {} {}",
                    roles[i],
                    r.status,
                    String::from_utf8_lossy(&r.body)
                );
            }
        }
    }
    // The refusals of state-changing actions are on record, with who and from where.
    let rows = audit_rows(&st);
    let refused = rows
        .iter()
        .filter(|r| r["outcome"] == "forbidden" && r["who"] == "u-viewer" && r["action"] == "skip")
        .count();
    assert_eq!(refused, 1, "{rows:?}");
    // An operator's skip with nothing on air: done by the station, refused by it, on record.
    assert!(rows.iter().any(|r| r["who"] == "u-operator"
        && r["action"] == "skip"
        && r["outcome"] == "nothing_on_air"
        && r["address"] == "127.0.0.1"
        && r["via"] == "http"));
    // `loaxa doctor` finds the console answering, with the accounts.
    let o = st.run(&["doctor"]);
    let out = common::stdout(&o);
    assert!(
        out.contains("OK    console: answers at http://127.0.0.1:") && out.contains("(4 accounts)"),
        "{out}"
    );
    // The schedule was saved (unchanged) by the admin only: one kept version.
    let kept = std::fs::read_dir(st.path().join("state/schedule-history"))
        .unwrap()
        .count();
    assert_eq!(kept, 1);
}

#[test]
fn a_session_needs_its_csrf_token_and_a_token_needs_none() {
    let st = station();
    let d = start(&st);
    let s = signed_in(&st, d.port, "lan", "operator");
    // Without the header, or with another session's, a state-changing request is refused.
    let r = request(
        d.port,
        "POST",
        "/api/v1/stop",
        &[("Cookie", &s.cookie)],
        b"",
    );
    assert_eq!((r.status, r.code().as_str()), (403, "csrf"));
    let r = request(
        d.port,
        "POST",
        "/api/v1/stop",
        &[("Cookie", &s.cookie), ("X-CSRF-Token", "doan-bua")],
        b"",
    );
    assert_eq!(r.status, 403);
    let rows = audit_rows(&st);
    assert_eq!(
        rows.iter()
            .filter(|r| r["who"] == "lan"
                && r["outcome"] == "csrf"
                && r["action"] == "POST /api/v1/stop")
            .count(),
        2,
        "{rows:?}"
    );
    // A GET needs none; the right one passes (and the station answers: nothing on air).
    assert_eq!(s.get("/api/v1/status").status, 200);
    assert_eq!(s.send("POST", "/api/v1/stop", "").code(), "nothing_on_air");
    // An API token (bearer, no cookie) is not subject to CSRF, and carries its role.
    let o = st.run(&["token", "add", "tinh", "--role", "viewer"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let secret = String::from_utf8_lossy(&o.stdout).trim().to_string();
    let bearer = format!("Bearer {secret}");
    let r = request(
        d.port,
        "GET",
        "/api/v1/status",
        &[("Authorization", &bearer)],
        b"",
    );
    assert_eq!(r.status, 200);
    let r = request(
        d.port,
        "POST",
        "/api/v1/stop",
        &[("Authorization", &bearer)],
        b"",
    );
    assert_eq!(r.status, 403, "a viewer token may not stop");
    let r = request(
        d.port,
        "GET",
        "/api/v1/status",
        &[("Authorization", "Bearer doan-bua")],
        b"",
    );
    assert_eq!(r.status, 401);
    // The token's secret never reaches the log.
    let log = std::fs::read_to_string(st.path().join("daemon.log")).unwrap();
    assert!(!log.contains(&secret));
    // Logging out ends the session.
    assert_eq!(s.send("DELETE", "/api/v1/session", "").status, 204);
    assert_eq!(s.get("/api/v1/status").status, 401);
    // A removed account's session ends at its next request.
    let h = signed_in(&st, d.port, "hoa", "operator");
    assert_eq!(h.get("/api/v1/status").status, 200);
    assert!(st.run(&["user", "remove", "hoa"]).status.success());
    assert_eq!(h.get("/api/v1/status").status, 401);
}

#[test]
fn failed_logins_are_limited_per_user_and_per_address() {
    let st = station();
    let d = start(&st);
    add_user(&st, "lan", "operator", "mat-khau-dai");
    add_user(&st, "hoa", "operator", "mat-khau-dai");
    for _ in 0..5 {
        assert_eq!(login(d.port, "lan", "sai").err().unwrap().status, 401);
    }
    // The sixth, even with the right password, waits.
    let r = login(d.port, "lan", "mat-khau-dai").err().unwrap();
    assert_eq!((r.status, r.code().as_str()), (429, "rate_limited"));
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&wait), "{wait}");
    // Another user from the same address still logs in.
    assert!(login(d.port, "hoa", "mat-khau-dai").is_ok());
    // 20 failures from one address lock it for every name.
    for i in 0..15 {
        assert_eq!(
            login(d.port, &format!("x{i}"), "sai").err().unwrap().status,
            401
        );
    }
    let r = login(d.port, "hoa", "mat-khau-dai").err().unwrap();
    assert_eq!(r.status, 429);
    let rows = audit_rows(&st);
    assert_eq!(
        rows.iter()
            .filter(|r| r["action"] == "login" && r["outcome"] == "wrong_password")
            .count(),
        20
    );
    assert!(rows
        .iter()
        .any(|r| r["who"] == "lan" && r["outcome"] == "rate_limited"));
    // The passwords tried never reach the log.
    let log = std::fs::read_to_string(st.path().join("daemon.log")).unwrap();
    assert!(!log.contains("mat-khau-dai"));
}

/// An operator plays a category from the API: it airs (the status and the live events say
/// so), and the audit trail and the airtime log agree on it.
#[test]
fn play_from_the_api_airs_and_the_events_stream_says_so() {
    let st = station();
    let d = start(&st);
    let s = signed_in(&st, d.port, "lan", "operator");
    wait_for("the item ready", Duration::from_secs(10), || {
        s.get("/api/v1/library?category=tin").json()["items"][0]["state"] == "ready"
    });
    // Subscribe to the events first.
    let mut ev = TcpStream::connect(("127.0.0.1", d.port)).unwrap();
    ev.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(
        ev,
        "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nCookie: {}\r\n\r\n",
        s.cookie
    )
    .unwrap();
    let mut ev = std::io::BufReader::new(ev);
    let mut line = String::new();
    // The stream opens with the status.
    loop {
        line.clear();
        ev.read_line(&mut line).unwrap();
        if line.starts_with("event: status") {
            break;
        }
    }
    let r = s.send(
        "POST",
        "/api/v1/play",
        &json!({"category": "tin"}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["outcome"]["outcome"], "playing");
    // The events say it started.
    let t = Instant::now();
    loop {
        line.clear();
        ev.read_line(&mut line).unwrap();
        if line.contains("item_started") || line.contains("ItemStarted") {
            assert!(line.contains("ban tin"), "{line}");
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(15), "no start event");
    }
    let st_now = s.get("/api/v1/status").json();
    assert!(
        st_now["on_air"]["title"]
            .as_str()
            .unwrap()
            .contains("ban tin"),
        "{st_now}"
    );
    // Skip it; the audit trail has both, and the airtime log has the airing as skipped.
    assert_eq!(s.send("POST", "/api/v1/skip", "").status, 200);
    let rows = audit_rows(&st);
    let actions: Vec<(&str, &str)> = rows
        .iter()
        .filter(|r| r["who"] == "lan")
        .map(|r| {
            (
                r["action"].as_str().unwrap(),
                r["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(actions, [("login", "ok"), ("play", "ok"), ("skip", "ok")]);
    // A skip is asked, then done by the deck: wait until the airing is logged as skipped
    // (only then is nothing on air for the stop below to refuse).
    wait_for(
        "the airing logged as skipped",
        Duration::from_secs(10),
        || {
            let a = s.get("/api/v1/airings?format=json").json();
            a.as_array()
                .is_some_and(|v| v.iter().any(|r| r["status"] == "skipped"))
        },
    );
    // The CLI's commands are audited too, as the Unix user.
    let o = st.run(&["stop"]);
    assert!(!o.status.success());
    let rows = audit_rows(&st);
    assert!(rows.iter().any(|r| r["via"] == "unix"
        && r["action"] == "stop"
        && r["who"].as_str().unwrap().starts_with("cli:")));
}

/// The schedule editor: a text with an error is refused with the error's line and column
/// and the running file untouched; a good one replaces it, keeps the old one, reloads.
#[test]
fn the_schedule_editor_refuses_errors_at_their_place_and_keeps_versions() {
    let st = station();
    let d = start(&st);
    let s = signed_in(&st, d.port, "quan", "admin");
    let before = std::fs::read_to_string(st.config()).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&s.get("/api/v1/schedule").body),
        before
    );
    let typo = before.replace("pick: all", "pick: al");
    let r = s.send("PUT", "/api/v1/schedule", &typo);
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["error"]["code"], "config_invalid");
    let p = &v["problems"][0];
    let line = typo.lines().position(|l| l.contains("pick: al")).unwrap() + 1;
    assert_eq!(p["line"].as_u64(), Some(line as u64), "{v}");
    assert!(p["col"].as_u64().unwrap() > 1);
    assert!(p["message"].as_str().unwrap().contains("al"), "{v}");
    assert_eq!(std::fs::read_to_string(st.config()).unwrap(), before);
    // A good edit: the next programme moves an hour later.
    let from = before
        .lines()
        .find_map(|l| l.trim().strip_prefix("when: \""))
        .and_then(|w| w.strip_suffix('"'))
        .unwrap()
        .to_string();
    let hour = (from.split(' ').nth(2).unwrap().parse::<u32>().unwrap() + 1) % 24;
    let good = before.replace(&from, &format!("0 0 {hour} * * *"));
    let r = s.send("PUT", "/api/v1/schedule", &good);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(std::fs::read_to_string(st.config()).unwrap(), good);
    let kept: Vec<_> = std::fs::read_dir(st.path().join("state/schedule-history"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(kept, [before]);
    let next = s.get("/api/v1/status").json()["next"]["at"].to_string();
    assert!(next.contains(&format!("T{hour:02}:00:00")), "{next}");
    let plan = s.get("/api/v1/plan?days=1").json();
    assert!(
        plan.to_string().contains(&format!("T{hour:02}:00")),
        "{plan}"
    );
    let rows = audit_rows(&st);
    let saves: Vec<&str> = rows
        .iter()
        .filter(|r| r["action"] == "schedule.save")
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(saves, ["config_invalid", "ok"]);
}

/// The reads a commune files: the airings as XLSX (read back), the report as HTML, the
/// audit trail as CSV.
#[test]
fn downloads_come_as_the_cli_makes_them() {
    let st = station();
    let d = start(&st);
    let s = signed_in(&st, d.port, "quan", "admin");
    let r = s.get("/api/v1/airings?format=xlsx");
    assert_eq!(r.status, 200);
    assert!(r.header("content-disposition").unwrap().contains(".xlsx"));
    let path = st.path().join("lan-phat.xlsx");
    std::fs::write(&path, &r.body).unwrap();
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(&path).unwrap();
    let sheet = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&sheet).unwrap();
    assert_eq!(
        range.get((0, 5)),
        Some(&calamine::Data::String("Tên bài".into()))
    );
    let r = s.get("/api/v1/report?format=html");
    assert_eq!(r.status, 200);
    let html = String::from_utf8_lossy(&r.body);
    assert!(html.contains("<html") && html.contains("Báo cáo"), "{html}");
    let r = s.get("/api/v1/report?month=2026-13");
    assert_eq!(r.status, 422);
    let r = s.get("/api/v1/audit?format=csv");
    assert_eq!(r.status, 200);
    let csv = String::from_utf8_lossy(&r.body);
    assert!(
        csv.starts_with("at,who,via,address,action,target,outcome"),
        "{csv}"
    );
    assert!(csv.contains("quan,http,127.0.0.1,login"), "{csv}");
    let r = s.get("/api/v1/khong-co");
    assert_eq!((r.status, r.code().as_str()), (404, "not_found"));
}

/// One form field: its name, its file name (for a file), its content.
type Field<'a> = (&'a str, Option<&'a [u8]>, &'a [u8]);

/// A multipart/form-data body.
fn multipart(fields: &[Field]) -> (String, Vec<u8>) {
    let b = "loaxa-ranh-gioi-7d1f";
    let mut body = vec![];
    for (name, file, data) in fields {
        body.extend_from_slice(
            format!("--{b}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes(),
        );
        if let Some(f) = file {
            body.extend_from_slice(b"; filename=\"");
            body.extend_from_slice(f);
            body.extend_from_slice(b"\"\r\nContent-Type: application/octet-stream");
        }
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{b}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={b}"), body)
}

impl Session {
    fn upload(&self, category: &str, fields: &[Field]) -> Resp {
        let (kind, body) = multipart(fields);
        request(
            self.port,
            "POST",
            &format!("/api/v1/library/{category}"),
            &[
                ("Cookie", &self.cookie),
                ("X-CSRF-Token", &self.csrf),
                ("Content-Type", &kind),
            ],
            &body,
        )
    }
}

/// Uploads from a phone or a PC: a Vietnamese-named recording becomes a ready item at
/// once, with its title and dates; hostile or broken uploads are refused with a reason
/// and leave nothing behind.
#[test]
fn uploads_become_items_and_hostile_ones_leave_nothing() {
    let st = station();
    let d = start(&st);
    add_user(&st, "lan", "operator", "mat-khau-dai");
    add_user(&st, "xem", "viewer", "mat-khau-dai");
    let s = login(d.port, "lan", "mat-khau-dai")
        .map_err(|e| e.status)
        .unwrap();
    let wav = st.path().join("ghi-am.wav");
    tone(&wav, 660.0, 2.0, 0.3, 0.0);
    let audio = std::fs::read(&wav).unwrap();
    let name = "Thông báo tiêm phòng.wav".as_bytes();
    let t = Instant::now();
    let r = s.upload(
        "tin",
        &[
            ("title", None, "Tiêm phòng dại cho chó mèo".as_bytes()),
            ("valid_from", None, b"2026-01-01"),
            ("file", Some(name), &audio),
        ],
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    eprintln!("upload to ready: {:?}", t.elapsed());
    let v = r.json();
    assert_eq!(v["item"]["state"], "ready", "{v}");
    assert_eq!(v["item"]["title"], "Tiêm phòng dại cho chó mèo");
    assert_eq!(v["id"], "tin/Thông báo tiêm phòng.wav");
    assert!(st
        .path()
        .join("audio/tin/Thông báo tiêm phòng.yaml")
        .exists());
    // It can be played at once by its id.
    let r = s.send(
        "POST",
        "/api/v1/play",
        &json!({"item": "tin/Thông báo tiêm phòng.wav"}).to_string(),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    // The same name again: a conflict, the first kept.
    let r = s.upload("tin", &[("file", Some(name), &audio)]);
    assert_eq!((r.status, r.code().as_str()), (409, "exists"));
    // A name that climbs out of the folder lands inside it.
    let r = s.upload("tin", &[("file", Some(b"../../../thoat.wav"), &audio)]);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert!(st.path().join("audio/tin/thoat.wav").exists());
    assert!(!st.path().join("thoat.wav").exists());
    // Refused: a NUL in the name, nothing, text, too big, an unknown category.
    let r = s.upload("tin", &[("file", Some(b"a\0b.wav"), &audio)]);
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    let r = s.upload("tin", &[("file", Some(b"rong.wav"), b"")]);
    assert_eq!(r.status, 422);
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("empty"));
    let r = s.upload(
        "tin",
        &[("file", Some(b"van-ban.wav"), b"day khong phai am thanh\n")],
    );
    assert_eq!(
        (r.status, r.code().as_str()),
        (422, "rejected"),
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert!(!st.path().join("audio/tin/van-ban.wav").exists());
    let big = vec![0u8; 4_000_000];
    let r = s.upload("tin", &[("file", Some(b"lon.wav"), &big)]);
    assert_eq!((r.status, r.code().as_str()), (413, "too_large"));
    let r = s.upload("khong-co", &[("file", Some(b"x.wav"), &audio)]);
    assert_eq!(r.status, 404);
    // A viewer may not upload; without a login, nobody.
    let x = login(d.port, "xem", "mat-khau-dai")
        .map_err(|e| e.status)
        .unwrap();
    assert_eq!(
        x.upload("tin", &[("file", Some(b"y.wav"), &audio)]).status,
        403
    );
    let (kind, body) = multipart(&[("file", Some(b"z.wav"), &audio)]);
    let r = request(
        d.port,
        "POST",
        "/api/v1/library/tin",
        &[("Content-Type", &kind)],
        &body,
    );
    assert_eq!(r.status, 401);
    // Nothing half-written is left, and only the two good uploads (and the first item)
    // are in the folder.
    let mut names: Vec<String> = std::fs::read_dir(st.path().join("audio/tin"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "2026-01-01 ban tin.wav",
            "Thông báo tiêm phòng.wav",
            "Thông báo tiêm phòng.yaml",
            "thoat.wav"
        ]
    );
    let rows = audit_rows(&st);
    assert!(rows.iter().any(|r| r["who"] == "lan"
        && r["action"] == "take"
        && r["target"] == "tin/Thông báo tiêm phòng.wav"
        && r["outcome"] == "ok"));
    assert!(rows
        .iter()
        .any(|r| r["who"] == "xem" && r["action"] == "upload" && r["outcome"] == "forbidden"));
}

/// `approval: required`: an operator's upload waits as pending and cannot be played until
/// an approver approves it; the approval is on record in the sidecar and the audit trail.
#[test]
fn an_approver_approves_what_an_operator_uploads() {
    let st = station();
    let d = start(&st);
    let op = signed_in(&st, d.port, "lan", "operator");
    let ap = signed_in(&st, d.port, "chu-tich", "approver");
    let wav = st.path().join("b.wav");
    tone(&wav, 550.0, 2.0, 0.3, 0.0);
    let audio = std::fs::read(&wav).unwrap();
    let r = op.upload(
        "duyet",
        &[("file", Some("Lịch tiêm chủng.wav".as_bytes()), &audio)],
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["item"]["state"], "pending", "{}", r.json());
    let id = "duyet/Lịch tiêm chủng.wav";
    let url = "/api/v1/items/duyet/L%E1%BB%8Bch%20ti%C3%AAm%20ch%E1%BB%A7ng.wav/approve";
    // Pending items do not air, by id or by category.
    let r = op.send("POST", "/api/v1/play", &json!({"item": id}).to_string());
    assert_eq!(r.status, 404, "{}", String::from_utf8_lossy(&r.body));
    let r = op.send(
        "POST",
        "/api/v1/play",
        &json!({"category": "duyet"}).to_string(),
    );
    assert_eq!((r.status, r.code().as_str()), (409, "nothing_to_play"));
    // An operator may not approve.
    assert_eq!(op.send("POST", url, "").status, 403);
    let r = ap.send("POST", url, "");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["item"]["state"], "ready", "{}", r.json());
    let side = std::fs::read_to_string(st.path().join("audio/duyet/Lịch tiêm chủng.yaml")).unwrap();
    assert!(
        side.contains("approved: true") && side.contains("approved_by: chu-tich"),
        "{side}"
    );
    // Approved once; a second time is a conflict; now it plays.
    assert_eq!(ap.send("POST", url, "").code(), "not_pending");
    let r = op.send("POST", "/api/v1/play", &json!({"item": id}).to_string());
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let rows = audit_rows(&st);
    let approvals: Vec<(&str, &str)> = rows
        .iter()
        .filter(|r| r["action"] == "approve")
        .map(|r| (r["who"].as_str().unwrap(), r["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        approvals,
        [
            ("lan", "forbidden"),
            ("chu-tich", "ok"),
            ("chu-tich", "not_pending")
        ]
    );
}

/// The provincial system's three priorities (TT 39/2020), through a bearer token:
/// thông thường waits for the commune, ưu tiên goes to the front of the next programme,
/// khẩn cấp airs at once.
#[test]
fn upstream_bulletins_take_effect_by_their_priority() {
    let st = station();
    let d = start(&st);
    let o = st.run(&["token", "add", "tinh", "--role", "operator"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bearer = format!("Bearer {}", String::from_utf8_lossy(&o.stdout).trim());
    let o = st.run(&["token", "add", "xem", "--role", "viewer"]);
    let viewer = format!("Bearer {}", String::from_utf8_lossy(&o.stdout).trim());
    let wav = st.path().join("b.wav");
    tone(&wav, 500.0, 2.0, 0.3, 0.0);
    let audio = std::fs::read(&wav).unwrap();
    let send = |auth: &str, fields: &[Field]| {
        let (kind, body) = multipart(fields);
        request(
            d.port,
            "POST",
            "/api/v1/bulletins",
            &[("Authorization", auth), ("Content-Type", &kind)],
            &body,
        )
    };
    // Thông thường: pending, the commune decides.
    let r = send(
        &bearer,
        &[
            ("priority", None, b"thong-thuong"),
            ("category", None, b"tin"),
            ("title", None, "Lịch thu thuế quý IV".as_bytes()),
            ("file", Some(b"thue.wav"), &audio),
        ],
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["item"]["state"], "pending", "{}", r.json());
    // Ưu tiên: ready, and first in the next programme's running order.
    let r = send(
        &bearer,
        &[
            ("priority", None, b"uu-tien"),
            ("category", None, b"tin"),
            ("title", None, "Phòng chống bão số 9".as_bytes()),
            ("file", Some(b"bao.wav"), &audio),
        ],
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["item"]["state"], "ready", "{}", r.json());
    let plan = request(
        d.port,
        "GET",
        "/api/v1/plan?days=1",
        &[("Authorization", &bearer)],
        b"",
    )
    .json();
    let first = plan[0].to_string();
    let bao = first.find("Phòng chống bão số 9").unwrap_or(usize::MAX);
    let tin = first.find("ban tin").unwrap_or(usize::MAX);
    assert!(bao < tin, "the priority bulletin first: {first}");
    assert!(
        !first.contains("Lịch thu thuế"),
        "a pending bulletin is not planned: {first}"
    );
    // Refused: an unknown priority, no category, a viewer's token.
    let r = send(
        &bearer,
        &[
            ("priority", None, b"rat-gap"),
            ("category", None, b"tin"),
            ("file", Some(b"x.wav"), &audio),
        ],
    );
    assert_eq!(r.status, 422);
    let r = send(
        &bearer,
        &[
            ("priority", None, b"uu-tien"),
            ("file", Some(b"y.wav"), &audio),
        ],
    );
    assert_eq!(r.status, 422);
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("category"));
    let r = send(
        &viewer,
        &[
            ("priority", None, b"khan-cap"),
            ("file", Some(b"z.wav"), &audio),
        ],
    );
    assert_eq!(r.status, 403);
    // Khẩn cấp: on air at once as an emergency.
    let t = Instant::now();
    let r = send(
        &bearer,
        &[
            ("priority", None, b"khan-cap"),
            ("title", None, "Lũ quét thôn 3".as_bytes()),
            ("file", Some(b"lu.wav"), &audio),
        ],
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["category"], "khan-cap");
    wait_for("the emergency on air", Duration::from_secs(5), || {
        let s = request(
            d.port,
            "GET",
            "/api/v1/status",
            &[("Authorization", &bearer)],
            b"",
        )
        .json();
        s["on_air"]["title"] == "Lũ quét thôn 3"
    });
    eprintln!(
        "khẩn cấp bulletin on air {:?} after the request",
        t.elapsed()
    );
    let rows = audit_rows(&st);
    let b: Vec<&str> = rows
        .iter()
        .filter(|r| r["action"] == "bulletin" && r["who"] == "tinh" && r["via"] == "api")
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(b, ["ok", "ok", "ok"], "{rows:?}");
    // Nothing is left in the incoming folder.
    let left = std::fs::read_dir(st.path().join("audio/.incoming"))
        .unwrap()
        .count();
    assert_eq!(left, 0);
}

/// The console's own endpoints: the pages (embedded, with their security headers), the
/// categories, listening to an item (with ranges), removing one to the trash, and the
/// schedule editor's live check and kept versions.
#[test]
fn the_console_pages_and_their_endpoints() {
    let st = station();
    let d = start(&st);
    let op = signed_in(&st, d.port, "lan", "operator");
    let admin = signed_in(&st, d.port, "chu-tich", "admin");

    // The pages need no login (they hold no data) and come from the binary.
    for (path, kind) in [
        ("/", "text/html"),
        ("/app.js", "text/javascript"),
        ("/app.css", "text/css"),
        ("/favicon.svg", "image/svg+xml"),
    ] {
        let r = request(d.port, "GET", path, &[], b"");
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.header("content-type").unwrap().starts_with(kind),
            "{path}"
        );
        let csp = r.header("content-security-policy").unwrap();
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    }
    let page = String::from_utf8(request(d.port, "GET", "/", &[], b"").body).unwrap();
    assert!(page.contains("Đang phát") && page.contains("Nhật ký &amp; báo cáo"));
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "nothing from the Internet"
    );

    // Categories with their names and approval rule.
    let cats = op.get("/api/v1/categories").json();
    let duyet = cats
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "duyet")
        .unwrap();
    assert_eq!(duyet["name"], "Cần duyệt");
    assert_eq!(duyet["approval"], true);
    let tin = cats
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "tin")
        .unwrap();
    assert_eq!(tin["ready"], 1);

    // Listening: the whole file, or a range of it (a phone's player seeks with ranges).
    let item = "/api/v1/items/tin/2026-01-01%20ban%20tin.wav/audio";
    let file = std::fs::read(st.path().join("audio/tin/2026-01-01 ban tin.wav")).unwrap();
    let whole = op.get(item);
    assert_eq!(whole.status, 200);
    assert_eq!(whole.body, file);
    assert!(whole.header("content-type").unwrap().contains("wav"));
    let part = request(
        d.port,
        "GET",
        item,
        &[("Cookie", &op.cookie), ("Range", "bytes=100-199")],
        b"",
    );
    assert_eq!(part.status, 206);
    assert_eq!(part.body, &file[100..200]);
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 100-199/{}", file.len()).as_str())
    );
    // Only library items: no way out of the audio folder, nothing not listed.
    for bad in [
        "/api/v1/items/tin/..%2F..%2Fschedule.yaml/audio",
        "/api/v1/items/../schedule.yaml/audio",
        "/api/v1/items/tin/khong-co.wav/audio",
    ] {
        let r = op.get(bad);
        assert_eq!(r.status, 404, "{bad}: {}", String::from_utf8_lossy(&r.body));
    }

    // Removing: moved with its sidecar to the trash, gone from the library, on record.
    let audio = st.path().join("audio");
    std::fs::write(
        audio.join("tin/2026-01-01 ban tin.yaml"),
        "title: \"Bản tin\"\n",
    )
    .unwrap();
    wait_for("the sidecar's title", Duration::from_secs(10), || {
        op.get("/api/v1/library?category=tin").json()["items"][0]["title"] == "Bản tin"
    });
    let r = op.send("DELETE", "/api/v1/items/tin/2026-01-01%20ban%20tin.wav", "");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let trash = r.json()["trash"].as_str().unwrap().to_string();
    assert!(
        trash.starts_with(".trash/") && trash.ends_with("tin/2026-01-01 ban tin.wav"),
        "{trash}"
    );
    assert_eq!(std::fs::read(audio.join(&trash)).unwrap(), file);
    assert!(
        audio.join(&trash).with_extension("yaml").is_file(),
        "the sidecar went along"
    );
    assert!(!audio.join("tin/2026-01-01 ban tin.wav").exists());
    wait_for("the library to forget it", Duration::from_secs(10), || {
        op.get("/api/v1/library?category=tin").json()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    });
    let again = op.send("DELETE", "/api/v1/items/tin/2026-01-01%20ban%20tin.wav", "");
    assert_eq!((again.status, again.code().as_str()), (404, "no_such_item"));
    let rows = audit_rows(&st);
    assert!(rows.iter().any(|r| r["who"] == "lan"
        && r["action"] == "remove"
        && r["target"] == "tin/2026-01-01 ban tin.wav"
        && r["outcome"] == "ok"));

    // The editor's live check: problems at their line and column, nothing saved.
    let text = std::fs::read_to_string(st.config()).unwrap();
    let typo = text.replacen("segments:", "segmnets:", 1);
    let line = typo.lines().position(|l| l.contains("segmnets")).unwrap() + 1;
    let r = admin.send("POST", "/api/v1/schedule/check", &typo);
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["problems"][0]["line"], line);
    assert!(v["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("segmnets"));
    assert_eq!(std::fs::read_to_string(st.config()).unwrap(), text);
    let r = admin.send("POST", "/api/v1/schedule/check", &text).json();
    assert_eq!(r["ok"], true);
    // Kept versions: none yet; one after a save, readable to restore it.
    assert_eq!(admin.get("/api/v1/schedule/history").json(), json!([]));
    let renamed = text.replace("name: \"Sáng\"", "name: \"Trưa\"");
    assert_eq!(admin.send("PUT", "/api/v1/schedule", &renamed).status, 200);
    let h = admin.get("/api/v1/schedule/history").json();
    assert_eq!(h.as_array().unwrap().len(), 1, "{h}");
    assert!(h[0]["saved_at"].is_string());
    let name = h[0]["name"].as_str().unwrap();
    let old = admin.get(&format!("/api/v1/schedule/history/{name}"));
    assert_eq!(String::from_utf8(old.body).unwrap(), text);
    for bad in ["..%2Fschedule.yaml", "khong-co.yaml", ".hidden.yaml"] {
        let r = admin.get(&format!("/api/v1/schedule/history/{bad}"));
        assert_eq!(r.status, 404, "{bad}");
    }
    // A reload that changes `http:` says it needs a restart (the listener is bound at
    // start); one that does not, says nothing.
    let log = || std::fs::read_to_string(st.path().join("daemon.log")).unwrap();
    let restart = "take effect when loaxa restarts";
    assert!(!log().contains(restart), "{}", log());
    let bigger = renamed.replace("max_upload: 3MB", "max_upload: 5MB");
    assert_eq!(admin.send("PUT", "/api/v1/schedule", &bigger).status, 200);
    wait_for("the restart warning", Duration::from_secs(10), || {
        log().contains(restart)
    });
}

/// A long airtime log goes out as it is read: the export of 60 000 rows as JSON and as
/// CSV leaves the daemon's memory where it was (it was made whole first, then parsed into
/// an array for JSON: tens of MB for these rows, ~100 MB for a million).
#[test]
fn a_long_log_is_exported_without_holding_it_in_memory() {
    use loaxa::airtime::{NewAiring, Status as Done, Store, Trigger};
    let st = station();
    let rows = 60_000i64;
    let db = st.path().join("state").join(loaxa::airtime::FILE_NAME);
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let mut store = Store::open(&db).unwrap();
    let first = chrono::DateTime::parse_from_rfc3339("2026-11-02T00:00:00Z")
        .unwrap()
        .to_utc();
    store
        .batch(|s| {
            for i in 0..rows {
                let at = first + chrono::Duration::seconds(i * 10);
                let a = NewAiring {
                    programme: Some("Buổi sáng".into()),
                    category: Some("tin".into()),
                    trigger: Some(Trigger::Schedule),
                    item_path: Some(format!("tin/Bản tin số {}.mp3", i % 500)),
                    title: Some(format!("Bản tin số {} về cải cách hành chính", i % 500)),
                    content_hash: Some(format!("{:064x}", i % 500)),
                    scheduled_at: Some(at),
                    planned: Some(Duration::from_secs(8)),
                    ..Default::default()
                };
                let id = s.start(&a, at)?;
                s.finish(
                    id,
                    Done::Completed,
                    at + chrono::Duration::seconds(8),
                    Duration::from_secs(8),
                    None,
                )?;
            }
            Ok(())
        })
        .unwrap();
    drop(store);
    let d = start(&st);
    let s = signed_in(&st, d.port, "xem", "viewer");
    // One small export first, so what any export needs once (the pool's thread, the
    // database's cache) is in the peak before it is measured.
    let r = s.get("/api/v1/airings?format=json&from=2026-11-02&to=2026-11-02");
    assert_eq!(r.status, 200);
    let before = common::memory_kb(d.child.id(), "VmHWM");
    let r = s.get("/api/v1/airings?format=json&from=2026-11-01&to=2026-11-30");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type").unwrap(), "application/json");
    let a = r.json();
    assert_eq!(a.as_array().unwrap().len(), rows as usize);
    assert_eq!(a[0]["title"], "Bản tin số 0 về cải cách hành chính");
    let r = s.get("/api/v1/airings?format=csv&from=2026-11-01&to=2026-11-30");
    assert_eq!(r.status, 200);
    let csv = String::from_utf8(r.body).unwrap();
    assert_eq!(
        csv.lines().count(),
        rows as usize + 1,
        "a header and a line a row"
    );
    let grew = common::memory_kb(d.child.id(), "VmHWM").saturating_sub(before);
    eprintln!("exporting {rows} rows as JSON and CSV: the daemon's peak memory +{grew} kB");
    assert!(
        grew < 12_000,
        "exporting {rows} rows raised the daemon's peak memory by {grew} kB"
    );
    // A bad request is still refused whole, before anything is sent.
    let r = s.get("/api/v1/airings?format=json&from=2026-13-01");
    assert_eq!((r.status, r.code().as_str()), (422, "invalid"));
}
