;; fetch.wat: an edge ABI guest for the tests of the fetch host function.
;; It sends the body of its request, verbatim, as a fetch request
;; ("METHOD URL\nName: value\n\nbody", docs/edge-abi.md), and answers with
;; what fetch_response gives back: status 200 and the encoded answer when
;; fetch succeeded, else status 520 - code (525 refused, 526 too many
;; fetches, 527 too large, 528 failed, 529 malformed) and the error text.
;; For a request to /many... it repeats the fetch until one fails (at most
;; 100 times) and answers for the last one.
(module
  (import "edge_v1" "request" (func $request (param i32 i32) (result i32)))
  (import "edge_v1" "respond" (func $respond (param i32 i32 i32 i32 i32) (result i32)))
  (import "edge_v1" "fetch" (func $fetch (param i32 i32) (result i32)))
  (import "edge_v1" "fetch_response" (func $fetch_response (param i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "edge_handle") (result i32)
    (local $n i32) (local $i i32) (local $rc i32) (local $m i32) (local $out i32) (local $k i32)
    (local.set $n (call $request (i32.const 0) (i32.const 131072)))
    ;; the body starts after the first empty line
    (block $found (loop $scan
      (br_if $found (i32.and
        (i32.eq (i32.load8_u (local.get $i)) (i32.const 10))
        (i32.eq (i32.load8_u (i32.add (local.get $i) (i32.const 1))) (i32.const 10))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $scan)))
    (local.set $i (i32.add (local.get $i) (i32.const 2)))
    (loop $again
      (local.set $rc (call $fetch (local.get $i) (i32.sub (local.get $n) (local.get $i))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      ;; "POST /m": byte 6 is 'm' (the tests POST the fetch request)
      (br_if $again (i32.and (i32.eq (i32.load8_u (i32.const 6)) (i32.const 109))
        (i32.and (i32.ge_s (local.get $rc) (i32.const 0)) (i32.lt_u (local.get $k) (i32.const 100))))))
    (local.set $m (call $fetch_response (i32.const 0) (i32.const 0)))
    (local.set $out (i32.shl (memory.grow (i32.add (i32.shr_u (local.get $m) (i32.const 16)) (i32.const 1))) (i32.const 16)))
    (drop (call $fetch_response (local.get $out) (local.get $m)))
    (drop (call $respond
      (select (i32.const 200) (i32.sub (i32.const 520) (local.get $rc)) (i32.ge_s (local.get $rc) (i32.const 0)))
      (i32.const 0) (i32.const 0) (local.get $out) (local.get $m)))
    (i32.const 0)))
