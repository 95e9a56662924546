#!/usr/bin/env bash
# Makes the tiny demo items under audio/ (committed; run again only to change them).
# Needs: espeak-ng (Vietnamese voice), sox, ffmpeg.
set -euo pipefail
cd "$(dirname "$0")/../audio"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

say() { # say OUT.mp3 "text"
  espeak-ng -v vi -s 150 -w "$tmp/s.wav" "$2"
  # 0.3 s of silence around the voice keeps items apart in captures
  sox "$tmp/s.wav" -r 22050 -c 1 "$tmp/p.wav" pad 0.3 0.3 norm -3
  ffmpeg -loglevel error -y -i "$tmp/p.wav" -c:a libmp3lame -b:a 32k "$1"
}

# nhạc hiệu: a three-note chime, a closing chord, and an alert siren
sox -n -r 22050 -c 1 "$tmp/a.wav" synth 0.5 sine 523.25 synth 0.5 sine 659.25 : synth 0.5 sine 783.99 : synth 0.9 sine 1046.5 fade 0 0 0.4 pad 0.2 0.2 norm -3 2>/dev/null || \
  sox -n -r 22050 -c 1 "$tmp/a.wav" synth 0.45 sine 523.25 sine 659.25 sine 783.99 sine 1046.5 norm -3
sox -n -r 22050 -c 1 "$tmp/n1.wav" synth 0.4 sine 523.25 fade 0.01 0.4 0.05
sox -n -r 22050 -c 1 "$tmp/n2.wav" synth 0.4 sine 659.25 fade 0.01 0.4 0.05
sox -n -r 22050 -c 1 "$tmp/n3.wav" synth 0.9 sine 783.99 fade 0.01 0.9 0.4
sox "$tmp/n1.wav" "$tmp/n2.wav" "$tmp/n3.wav" "$tmp/j.wav" pad 0.2 0.2 norm -3
ffmpeg -loglevel error -y -i "$tmp/j.wav" -c:a libmp3lame -b:a 48k nhac-hieu/mo-dau.mp3
sox -n -r 22050 -c 1 "$tmp/e.wav" synth 1.4 sine 392 sine 523.25 fade 0.01 1.4 0.8 pad 0.2 0.2 norm -3 remix -
ffmpeg -loglevel error -y -i "$tmp/e.wav" -c:a libmp3lame -b:a 48k nhac-hieu/ket-thuc.mp3
sox -n -r 22050 -c 1 "$tmp/w.wav" synth 2.4 sine 600:1200 synth 2.4 sine fmod 1 pad 0.2 0.2 norm -3
ffmpeg -loglevel error -y -i "$tmp/w.wav" -c:a libmp3lame -b:a 48k nhac-hieu/canh-bao.mp3

say "cchc/2026-11-20 Bản tin CCHC số 1.mp3" \
  "Bản tin cải cách hành chính. Từ tháng mười hai, người dân có thể nộp hồ sơ cấp giấy khai sinh trực tuyến trên Cổng dịch vụ công quốc gia."
say "cchc/Một cửa liên thông.mp3" \
  "Bộ phận một cửa của xã tiếp nhận hồ sơ vào sáng thứ hai đến sáng thứ bảy hằng tuần."
say "dich-vu-cong/2026-11-02 Hướng dẫn nộp hồ sơ trực tuyến.mp3" \
  "Hướng dẫn: để nộp hồ sơ trực tuyến, bà con truy cập Cổng dịch vụ công và đăng nhập bằng tài khoản định danh điện tử."
say "dich-vu-cong/Bưu chính công ích.mp3" \
  "Bưu điện xã nhận hồ sơ và trả kết quả thủ tục hành chính tận nhà qua dịch vụ bưu chính công ích."
# Sidecars: a title and a validity window the file name does not give.
cat > "cchc/Một cửa liên thông.yaml" <<'YAML'
# Tệp đi kèm (sidecar): tên bài và thời hạn phát cho "Một cửa liên thông.mp3".
title: "Bộ phận một cửa: giờ tiếp nhận hồ sơ"
valid_from: 2026-11-01
valid_until: 2027-12-31
note: "Đọc lại mỗi khi giờ làm việc thay đổi."
YAML
cat > "dich-vu-cong/Bưu chính công ích.yaml" <<'YAML'
title: "Bưu chính công ích: nhận và trả hồ sơ tại nhà"
valid_from: 2026-11-01
valid_until: 2027-12-31
YAML
printf 'title: "Nhạc hiệu mở đầu"\n' > nhac-hieu/mo-dau.yaml
printf 'title: "Nhạc hiệu kết thúc"\n' > nhac-hieu/ket-thuc.yaml
printf 'title: "Còi báo động"\n' > nhac-hieu/canh-bao.yaml
echo "demo audio written under $(pwd)"
