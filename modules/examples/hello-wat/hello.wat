;; hello.wat - the smallest useful WAGI guest, hand-written in WebAssembly
;; text format. It ignores the request and writes a fixed CGI response to
;; stdout through WASI preview 1 fd_write, which shows the whole contract:
;; headers, a blank line, then the body.
;;
;; Build: wat2wasm hello.wat -o hello-wat.wasm
(module
  ;; fd_write(fd, iovs, iovs_len, nwritten_out) -> errno
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))

  (memory (export "memory") 1)

  ;; The response (42 bytes) lives at offset 16; one iovec at offset 0
  ;; points at it, and fd_write stores the byte count at offset 8.
  (data (i32.const 16) "Content-Type: text/plain\n\nHello from WAT!\n")

  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16)) ;; iov.buf
    (i32.store (i32.const 4) (i32.const 42)) ;; iov.len
    ;; A short write to a pipe is not expected for 42 bytes, and a guest
    ;; has nowhere to report an error anyway, so the result is dropped.
    (drop (call $fd_write
      (i32.const 1)  ;; stdout
      (i32.const 0)  ;; iovs
      (i32.const 1)  ;; iovs_len
      (i32.const 8)))) ;; nwritten
)
