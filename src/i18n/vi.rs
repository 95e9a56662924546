//! Vietnamese texts.

use std::time::Duration;

use crate::control::Code;
use crate::station::Why;

/// A length the way people say it: `37 phút`, `1 giờ 30 phút`, `45 giây`.
pub fn duration(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    let mut parts = vec![];
    if h > 0 {
        parts.push(format!("{h} giờ"));
    }
    if m > 0 {
        parts.push(format!("{m} phút"));
    }
    if sec > 0 || parts.is_empty() {
        parts.push(format!("{sec} giây"));
    }
    parts.join(" ")
}

/// Why an airing ended or never aired, for the report and the console.
pub fn why(w: &Why) -> String {
    match w {
        Why::NotRunning { late, catch_up } => format!(
            "đài không hoạt động vào giờ phát (đã trễ {}; chỉ phát bù trong vòng {})",
            duration(*late),
            duration(*catch_up)
        ),
        Why::LaterDue { late, catch_up } => format!(
            "khi đài hoạt động lại đã có chương trình muộn hơn cần phát bù (trễ {}; phát bù trong vòng {})",
            duration(*late),
            duration(*catch_up)
        ),
        Why::StillOnAir { behind, catch_up } => format!(
            "«{behind}» vẫn đang phát; không thể bắt đầu trong vòng {} cho phép",
            duration(*catch_up)
        ),
        Why::Shortfall {
            category,
            wanted,
            found,
            trimmed,
            ..
        } => format!(
            "chuyên mục «{category}»: có {found}/{wanted} bài — {}",
            shortfall(*found, *trimmed)
        ),
        Why::Preempted { by } => format!("bị ngắt bởi chương trình ưu tiên hơn «{by}»"),
        Why::Emergency => "bị ngắt để phát tin khẩn cấp".into(),
        Why::Skipped => "người vận hành bỏ qua bài này".into(),
        Why::Stopped => "người vận hành dừng phát".into(),
        Why::CutShort => "bị cắt ngang".into(),
        Why::Shutdown(_) => "phần mềm phát dừng (tắt hoặc khởi động lại)".into(),
        Why::Failed(detail) => format!("phát lỗi — chi tiết kỹ thuật: {detail}"),
        Why::Changed(_) => {
            "tệp bị ghi đè trong lúc phát: một phần nội dung đã phát là bản mới".into()
        }
    }
}

/// Why a category gave a programme fewer items than it wanted (the plan, the log, the
/// report): `found` were taken, `trimmed` left out to keep within `max_duration`.
pub fn shortfall(found: u32, trimmed: u32) -> String {
    match (found, trimmed) {
        (_, t @ 1..) => {
            format!("bỏ bớt {t} bài để chương trình không dài quá thời lượng tối đa (max_duration)")
        }
        (0, _) => "chuyên mục không có bài còn hiệu lực".into(),
        _ => "chuyên mục không còn bài hiệu lực nào khác".into(),
    }
}

/// What a command error means, for the operator.
pub fn code(c: Code) -> &'static str {
    match c {
        Code::BadRequest => "Yêu cầu không hợp lệ.",
        Code::NoSuchItem => "Không có bản tin này trong thư viện, hoặc bản tin chưa sẵn sàng phát.",
        Code::NoSuchCategory => "Không có chuyên mục này.",
        Code::NothingToPlay => "Chuyên mục này hiện không có bản tin nào được phép phát.",
        Code::NothingOnAir => "Hiện không phát gì.",
        Code::ConfigInvalid => "Lịch phát có lỗi; lịch cũ vẫn đang chạy.",
        Code::Busy => "Đài đang bận xử lý yêu cầu khác; thử lại sau giây lát.",
        Code::Stopping => "Phần mềm phát đang dừng.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_read_as_people_say_them() {
        assert_eq!(duration(Duration::from_secs(37 * 60)), "37 phút");
        assert_eq!(duration(Duration::from_secs(5400)), "1 giờ 30 phút");
        assert_eq!(duration(Duration::from_secs(45)), "45 giây");
        assert_eq!(duration(Duration::ZERO), "0 giây");
    }

    #[test]
    fn every_code_and_reason_has_a_vietnamese_text() {
        for c in Code::ALL {
            assert!(!code(c).is_empty());
        }
        let w = Why::Shortfall {
            category: "cchc".into(),
            wanted: 2,
            found: 1,
            reason: "no valid item in the category".into(),
            trimmed: 0,
        };
        assert_eq!(
            why(&w),
            "chuyên mục «cchc»: có 1/2 bài — chuyên mục không còn bài hiệu lực nào khác"
        );
        assert_eq!(shortfall(0, 0), "chuyên mục không có bài còn hiệu lực");
        assert!(
            shortfall(1, 2).starts_with("bỏ bớt 2 bài"),
            "{}",
            shortfall(1, 2)
        );
    }
}
