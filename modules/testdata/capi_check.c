// capi_check.c compares capi.h with the Wasmtime headers it copies from;
// capi_test.go compiles it against the headers in the wasmtime-go module.
// It is never linked: compiling it is the check.
//
// - Every typedef and prototype in capi.h is a redeclaration here, with
//   Wasmtime's originals already in scope, so the compiler rejects any that
//   differ ("conflicting types").
// - The structs and unions capi.h defines are renamed by EDGE_COPY and
//   compared with the originals: size, alignment, and each field's offset,
//   size and (for plain fields) type.
// - The constants capi.h names are compared with Wasmtime's.

#include <stddef.h>

#include <wasi.h>
#include <wasm.h>
#include <wasmtime.h>

#define EDGE_COPY(T) edge_copy_##T
#include "capi.h"

// SAME_LAYOUT: the copy of T has T's size and alignment.
#define SAME_LAYOUT(T)                                                          \
	_Static_assert(sizeof(edge_copy_##T) == sizeof(T), "sizeof " #T);          \
	_Static_assert(_Alignof(edge_copy_##T) == _Alignof(T), "_Alignof " #T)

// SAME_PLACE: field f of the copy of T has the original's offset and size.
#define SAME_PLACE(T, f)                                                        \
	_Static_assert(offsetof(edge_copy_##T, f) == offsetof(T, f), "offsetof " #T "." #f); \
	_Static_assert(sizeof(((edge_copy_##T *)0)->f) == sizeof(((T *)0)->f), "sizeof " #T "." #f)

// SAME_FIELD: SAME_PLACE, and the same type.
#define SAME_FIELD(T, f)                                                        \
	SAME_PLACE(T, f);                                                          \
	_Static_assert(__builtin_types_compatible_p(__typeof__(((edge_copy_##T *)0)->f), __typeof__(((T *)0)->f)), "type of " #T "." #f)

SAME_LAYOUT(wasm_byte_vec_t);
SAME_FIELD(wasm_byte_vec_t, size);
SAME_FIELD(wasm_byte_vec_t, data);

SAME_LAYOUT(wasm_exporttype_vec_t);
SAME_FIELD(wasm_exporttype_vec_t, size);
SAME_FIELD(wasm_exporttype_vec_t, data);
SAME_LAYOUT(wasm_importtype_vec_t);
SAME_FIELD(wasm_importtype_vec_t, size);
SAME_FIELD(wasm_importtype_vec_t, data);

SAME_LAYOUT(wasm_valtype_vec_t);
SAME_FIELD(wasm_valtype_vec_t, size);
SAME_FIELD(wasm_valtype_vec_t, data);

SAME_LAYOUT(wasmtime_instance_t);
SAME_FIELD(wasmtime_instance_t, store_id);
SAME_FIELD(wasmtime_instance_t, __private);

SAME_LAYOUT(wasmtime_func_t);
SAME_FIELD(wasmtime_func_t, store_id);
SAME_FIELD(wasmtime_func_t, __private);

SAME_LAYOUT(wasmtime_memory_t);
SAME_FIELD(wasmtime_memory_t, store_id);
SAME_FIELD(wasmtime_memory_t, __private1);
SAME_FIELD(wasmtime_memory_t, __private2);

// The union's members we leave out must fit in the ones we copy.
SAME_LAYOUT(wasmtime_extern_union_t);
SAME_PLACE(wasmtime_extern_union_t, func);
SAME_PLACE(wasmtime_extern_union_t, memory);
_Static_assert(sizeof(wasmtime_extern_union_t) == 24, "the largest member of wasmtime_extern_union_t is 24 bytes, as capi.h says");

SAME_LAYOUT(wasmtime_extern_t);
SAME_FIELD(wasmtime_extern_t, kind);
SAME_PLACE(wasmtime_extern_t, of);

SAME_LAYOUT(wasmtime_val_raw_t);
SAME_FIELD(wasmtime_val_raw_t, i32);
SAME_FIELD(wasmtime_val_raw_t, i64);
SAME_FIELD(wasmtime_val_raw_t, f32);
SAME_FIELD(wasmtime_val_raw_t, f64);
SAME_FIELD(wasmtime_val_raw_t, v128);
SAME_FIELD(wasmtime_val_raw_t, anyref);
SAME_FIELD(wasmtime_val_raw_t, externref);
SAME_FIELD(wasmtime_val_raw_t, funcref);

// edge_run's room for a result.
_Static_assert(sizeof(wasmtime_val_t) <= EDGE_VAL_ROOM, "wasmtime_val_t fits EDGE_VAL_ROOM");
_Static_assert(_Alignof(wasmtime_val_t) <= EDGE_VAL_ALIGN, "wasmtime_val_t fits EDGE_VAL_ALIGN");

// Constants: ours equal Wasmtime's (as ints: they are different enums).
#define SAME_VALUE(ours, theirs) _Static_assert((int)(ours) == (int)(theirs), #ours " == " #theirs)
SAME_VALUE(EDGE_EXTERN_FUNC, WASMTIME_EXTERN_FUNC);
SAME_VALUE(EDGE_EXTERN_MEMORY, WASMTIME_EXTERN_MEMORY);
SAME_VALUE(EDGE_EXTERNTYPE_FUNC, WASM_EXTERN_FUNC);
SAME_VALUE(EDGE_VALKIND_I32, WASM_I32);
SAME_VALUE(EDGE_VALKIND_I64, WASM_I64);
SAME_VALUE(EDGE_OPT_LEVEL_NONE, WASMTIME_OPT_LEVEL_NONE);
SAME_VALUE(EDGE_OPT_LEVEL_SPEED, WASMTIME_OPT_LEVEL_SPEED);
SAME_VALUE(EDGE_TRAP_CODE_INTERRUPT, WASMTIME_TRAP_CODE_INTERRUPT);
SAME_VALUE(EDGE_UPDATE_DEADLINE_CONTINUE, WASMTIME_UPDATE_DEADLINE_CONTINUE);
