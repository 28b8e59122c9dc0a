#!/usr/bin/env bash
# build-media.sh [SITE] generates the media app's video into SITE
# (default: site/ beside this script): an HLS VOD ladder
# (426x240, 640x360, 1280x720 and an AAC audio track, 12 s in 2 s fMP4
# segments) from ffmpeg's test sources, once as segment files (SITE/hls)
# and once as one file per rendition addressed by byte range
# (SITE/hls-br, #EXT-X-BYTERANGE), and puts the hls.js player (npm,
# pinned) into SITE/public. Idempotent: it does nothing when the media
# exist; FORCE=1 rebuilds. Installs Debian's ffmpeg when missing. The
# generated files are not committed (.gitignore).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "${1:-$here/site}"

HLSJS_VERSION=1.7.4
if [[ ! -f public/hls.min.js ]]; then
  npmdir=$(mktemp -d)
  npm install --no-save --no-audit --no-fund --silent --prefix "$npmdir" "hls.js@$HLSJS_VERSION" >/dev/null
  cp "$npmdir/node_modules/hls.js/dist/hls.min.js" public/hls.min.js
  rm -rf "$npmdir"
fi

if [[ -f hls/720p/index.m3u8 && -f hls-br/720p/index.m3u8 && -z "${FORCE:-}" ]]; then
  echo "media present in $(pwd) (FORCE=1 rebuilds)"
  exit 0
fi
if ! command -v ffmpeg >/dev/null; then
  sudo=(); [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get install -y --no-install-recommends ffmpeg ||
    { "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y --no-install-recommends ffmpeg; }
fi
rm -rf hls hls-br

# ladder OUT_DIR SEGMENT_PATTERN [extra hls flags...]
ladder() {
  local dir=$1 seg=$2; shift 2
  ffmpeg -hide_banner -loglevel error -y \
    -f lavfi -i testsrc2=size=1280x720:rate=30:duration=12 \
    -f lavfi -i sine=frequency=440:sample_rate=48000:duration=12 \
    -filter_complex "[0:v]split=3[a][b][c];[a]scale=426:240[v1];[b]scale=640:360[v2];[c]scale=1280:720[v3]" \
    -map "[v1]" -map "[v2]" -map "[v3]" -map 1:a \
    -c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 60 -keyint_min 60 -sc_threshold 0 \
    -b:v:0 300k -b:v:1 800k -b:v:2 2500k -c:a aac -b:a 96k \
    -f hls -hls_time 2 -hls_playlist_type vod -hls_segment_type fmp4 "$@" \
    -var_stream_map "v:0,name:240p v:1,name:360p v:2,name:720p a:0,name:audio" \
    -hls_segment_filename "$dir/%v/$seg" "$dir/%v/index.m3u8"
}
ladder hls 'seg_%03d.m4s' -hls_fmp4_init_filename init.mp4
ladder hls-br media.mp4 -hls_flags single_file
echo "media built in $(pwd)/hls and $(pwd)/hls-br"
