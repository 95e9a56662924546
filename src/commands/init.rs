//! `loaxa init [DIR]`: a working station in DIR — the example schedule.yaml, the category
//! folders each with a short guide in Vietnamese, and the station's jingles. Never
//! overwrites what is there, so it is also how the package's postinst fills in folders.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{EXIT_INVALID, EXIT_OK};
use crate::config::{self, Category, Config};

/// The example configuration, as shipped in the repository.
pub const EXAMPLE: &str = include_str!("../../schedule.yaml");

/// The station sounds the example's programmes name (jingles and the alert tone).
const SOUNDS: &[(&str, &[u8])] = &[
    (
        "nhac-hieu/mo-dau.mp3",
        include_bytes!("../../audio/nhac-hieu/mo-dau.mp3"),
    ),
    (
        "nhac-hieu/mo-dau.yaml",
        include_bytes!("../../audio/nhac-hieu/mo-dau.yaml"),
    ),
    (
        "nhac-hieu/ket-thuc.mp3",
        include_bytes!("../../audio/nhac-hieu/ket-thuc.mp3"),
    ),
    (
        "nhac-hieu/ket-thuc.yaml",
        include_bytes!("../../audio/nhac-hieu/ket-thuc.yaml"),
    ),
    (
        "nhac-hieu/canh-bao.mp3",
        include_bytes!("../../audio/nhac-hieu/canh-bao.mp3"),
    ),
    (
        "nhac-hieu/canh-bao.yaml",
        include_bytes!("../../audio/nhac-hieu/canh-bao.yaml"),
    ),
];

pub const GUIDE: &str = "HUONG-DAN.txt";

/// The example with its `paths` set (absolute for a system install).
pub fn example_with_paths(audio: Option<&Path>, state: Option<&Path>) -> String {
    EXAMPLE
        .lines()
        .map(|l| {
            match (
                l.trim_start().strip_prefix("audio: audio"),
                l.trim_start().strip_prefix("state: state"),
                audio,
                state,
            ) {
                (Some(rest), _, Some(a), _) if l.starts_with("  ") => {
                    format!("  audio: {}{rest}", a.display())
                }
                (_, Some(rest), _, Some(s)) if l.starts_with("  ") => {
                    format!("  state: {}{rest}", s.display())
                }
                _ => l.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// The guide dropped in a category's folder: what goes there and how to name it.
pub fn guide(c: &Category, emergency: bool) -> String {
    let mut s = format!("CHUYÊN MỤC: {} (thư mục `{}`)\n\n", c.name, c.key);
    if emergency {
        s.push_str(
            "!!! THƯ MỤC PHÁT KHẨN CẤP !!!\n\
             Tệp âm thanh thả vào đây được phát NGAY (sau khi chép xong vài giây): đài ngắt\n\
             chương trình đang phát, phát còi báo động rồi phát bản tin, lặp lại theo cấu hình.\n\
             Chỉ dùng cho tin bão, lũ, thiên tai, dịch bệnh và các tin khẩn cấp khác.\n\n",
        );
    } else {
        s.push_str("Thả vào thư mục này các tệp âm thanh của chuyên mục. Đài tự chọn bài theo lịch phát.\n\n");
    }
    s.push_str(
        "Định dạng nhận: mp3, wav, flac, ogg, m4a (ghi âm bằng điện thoại hoặc máy tính).\n\
         Tệp opus (Zalo, Messenger) chưa phát được: chuyển sang mp3 trước.\n\n\
         ĐẶT TÊN TỆP\n\
         - Ghi ngày lên đầu tên để bài được phát từ ngày đó:\n\
           2026-11-25 Ban tin CCHC so 1.mp3   hoặc   20261125_ban_tin.mp3\n\
         - Không có ngày: bài được phát từ lúc chép vào.\n",
    );
    if let Some(age) = c.max_age {
        s.push_str(&format!(
            "- Bài hết hạn sau {} kể từ ngày đó.\n",
            config::format_duration(age)
        ));
    }
    if let Some(len) = c.max_length {
        s.push_str(&format!(
            "- Bài dài hơn {} sẽ không được phát.\n",
            config::format_duration(len)
        ));
    }
    s.push_str(
        "\nTỆP ĐI KÈM (không bắt buộc): cùng tên, đuôi .yaml, ví dụ \"Ban tin so 1.yaml\":\n\
         \x20 title: \"Bản tin cải cách hành chính số 1\"\n\
         \x20 valid_from: 2026-12-01\n\
         \x20 valid_until: 2026-12-31\n\
         \x20 priority: priority      # ưu tiên: phát đầu chương trình kế tiếp\n\n\
         Kiểm tra: `loaxa library` cho biết bài nào sẵn sàng, bài nào bị từ chối và vì sao.\n",
    );
    s
}

/// Creates what is missing of a station in `dir`; returns what it did, line by line.
pub fn init(dir: &Path, audio: Option<&Path>, state: Option<&Path>) -> Result<Vec<String>, String> {
    let mut done = vec![];
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let cfg_path = dir.join(config::DEFAULT_CONFIG);
    if cfg_path.exists() {
        done.push(format!("kept {} (it exists)", cfg_path.display()));
    } else {
        std::fs::write(&cfg_path, example_with_paths(audio, state))
            .map_err(|e| format!("cannot write {}: {e}", cfg_path.display()))?;
        done.push(format!("wrote {}", cfg_path.display()));
    }
    let mk = |p: &Path, done: &mut Vec<String>| -> Result<(), String> {
        if !p.is_dir() {
            std::fs::create_dir_all(p)
                .map_err(|e| format!("cannot create {}: {e}", p.display()))?;
            done.push(format!("created {}/", p.display()));
        }
        Ok(())
    };
    // The station sounds first: the config names them, and is checked with them in place.
    let audio_dir = config::audio_dir(&cfg_path);
    for (rel, bytes) in SOUNDS {
        let p: PathBuf = audio_dir.join(rel);
        if !p.exists() {
            if let Some(parent) = p.parent() {
                mk(parent, &mut done)?;
            }
            std::fs::write(&p, bytes).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
            done.push(format!("wrote {}", p.display()));
        }
    }
    // The folders follow the config as it now is (kept or new).
    let cfg: Config = match config::load(&cfg_path) {
        Ok(l) => l.config,
        Err(d) => {
            return Err(format!(
                "{} has errors; fix them, then run init again:\n{d}",
                cfg_path.display()
            ))
        }
    };
    mk(&cfg.paths.state, &mut done)?;
    let emergency = cfg.emergency.as_ref().map(|e| e.category.clone());
    for c in &cfg.categories {
        mk(&c.folder, &mut done)?;
        let g = c.folder.join(GUIDE);
        if !g.exists() {
            std::fs::write(&g, guide(c, emergency.as_deref() == Some(c.key.as_str())))
                .map_err(|e| format!("cannot write {}: {e}", g.display()))?;
            done.push(format!("wrote {}", g.display()));
        }
    }
    Ok(done)
}

pub fn init_cmd(
    dir: &Path,
    audio: Option<&Path>,
    state: Option<&Path>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    match init(dir, audio, state) {
        Ok(done) => {
            for l in &done {
                let _ = writeln!(out, "{l}");
            }
            let cfg = dir.join(config::DEFAULT_CONFIG);
            let _ = writeln!(
                out,
                "\nNext: edit {} (station name, programmes), then `loaxa check --config {}`.",
                cfg.display(),
                cfg.display()
            );
            EXIT_OK
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            EXIT_INVALID
        }
    }
}
