#ifndef RELAYGATE_PAGE_ARENA_H
#define RELAYGATE_PAGE_ARENA_H
/* page_arena: memory for many page-sized blocks that are all released
 * together (the pages of one store update and their before-images). Blocks
 * come from chunks that double in size; the large chunks ask the kernel
 * for transparent huge pages, so that filling hundreds of megabytes (an
 * expire over a large store) takes a few hundred page faults instead of
 * tens of thousands. The first chunk is small (64 KiB, or what the first
 * block needs, up to 1 MiB) and kept across resets, so that a small update
 * makes no system call. Single-threaded use only. */
#include <stddef.h>

struct page_arena_chunk;

struct page_arena {
	struct page_arena_chunk *chunks;	/* newest first */
	size_t next_size;	/* size of the next chunk to map */
};

#define PAGE_ARENA_INIT { NULL, 0 }

/* SIZE bytes, 64-byte aligned, uninitialised; NULL when out of memory. */
void *page_arena_alloc(struct page_arena *arena, size_t size);

/* Forget every block; keep the first chunk, if small, for the next use. */
void page_arena_reset(struct page_arena *arena);

/* Release all memory. */
void page_arena_free(struct page_arena *arena);

#endif
