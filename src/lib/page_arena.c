/* page_arena: blocks from doubling chunks, released all at once. */
#include "page_arena.h"

#include <stdint.h>
#include <sys/mman.h>

/* Under AddressSanitizer the free part of every chunk is poisoned and
 * each block is followed by a poisoned red zone, so that an overrun of a
 * page is caught as it would be with malloc. */
#if defined(__SANITIZE_ADDRESS__)
#define PAGE_ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PAGE_ARENA_ASAN 1
#endif
#endif
#ifdef PAGE_ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define PAGE_ARENA_REDZONE 64
#define PAGE_ARENA_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define PAGE_ARENA_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define PAGE_ARENA_REDZONE 0
#define PAGE_ARENA_POISON(p, n) ((void)(p), (void)(n))
#define PAGE_ARENA_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* Chunk sizes: the first one, and the largest. From HUGE on, a chunk is
 * advised for transparent huge pages (2 MiB on x86-64). */
#define PAGE_ARENA_FIRST (64 * 1024)
#define PAGE_ARENA_LARGEST (64 * 1024 * 1024)
#define PAGE_ARENA_HUGE (4 * 1024 * 1024)
/* A reset keeps the oldest chunk if it is no larger than this (the first
 * one, or the one that held a first block of 64 KiB pages). */
#define PAGE_ARENA_KEEP (1024 * 1024)
#define PAGE_ARENA_ALIGN 64

struct page_arena_chunk {
	struct page_arena_chunk *next;
	size_t size;		/* mapped bytes, this header included */
	size_t used;		/* bytes handed out, this header included */
};

/* The header's size, rounded up to the alignment. */
#define PAGE_ARENA_HEADER \
	((sizeof(struct page_arena_chunk) + PAGE_ARENA_ALIGN - 1) \
	 & ~(size_t)(PAGE_ARENA_ALIGN - 1))

static struct page_arena_chunk *page_arena_map(size_t size)
{
	struct page_arena_chunk *chunk;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	if (size >= PAGE_ARENA_HUGE)
		(void)madvise(p, size, MADV_HUGEPAGE);	/* advice only */
#endif
	chunk = p;
	chunk->next = NULL;
	chunk->size = size;
	chunk->used = PAGE_ARENA_HEADER;
	PAGE_ARENA_POISON((unsigned char *)p + PAGE_ARENA_HEADER,
			  size - PAGE_ARENA_HEADER);
	return chunk;
}

static void page_arena_unmap(struct page_arena_chunk *chunk)
{
	PAGE_ARENA_UNPOISON(chunk, chunk->size);
	(void)munmap(chunk, chunk->size);
}

void *page_arena_alloc(struct page_arena *arena, size_t size)
{
	struct page_arena_chunk *chunk = arena->chunks;
	size_t need = (size + PAGE_ARENA_REDZONE + PAGE_ARENA_ALIGN - 1)
	    & ~(size_t)(PAGE_ARENA_ALIGN - 1);
	void *block;

	if (need < size || need > SIZE_MAX / 4)
		return NULL;
	if (chunk == NULL || chunk->size - chunk->used < need) {
		size_t chunk_size = arena->next_size == 0 ? PAGE_ARENA_FIRST
		    : arena->next_size;

		while (chunk_size - PAGE_ARENA_HEADER < need)
			chunk_size *= 2;
		if ((chunk = page_arena_map(chunk_size)) == NULL)
			return NULL;
		chunk->next = arena->chunks;
		arena->chunks = chunk;
		arena->next_size = chunk_size < PAGE_ARENA_LARGEST
		    ? chunk_size * 2 : chunk_size;
	}
	block = (unsigned char *)chunk + chunk->used;
	chunk->used += need;
	PAGE_ARENA_UNPOISON(block, size);
	return block;
}

void page_arena_reset(struct page_arena *arena)
{
	struct page_arena_chunk *chunk = arena->chunks, *first = NULL;

	while (chunk != NULL) {
		struct page_arena_chunk *next = chunk->next;

		if (next == NULL && chunk->size <= PAGE_ARENA_KEEP) {
			first = chunk;	/* the oldest, if small: kept */
			first->used = PAGE_ARENA_HEADER;
			PAGE_ARENA_POISON((unsigned char *)first
					  + PAGE_ARENA_HEADER,
					  first->size - PAGE_ARENA_HEADER);
		} else {
			page_arena_unmap(chunk);
		}
		chunk = next;
	}
	arena->chunks = first;
	arena->next_size = first != NULL ? first->size * 2 : 0;
}

void page_arena_free(struct page_arena *arena)
{
	page_arena_reset(arena);
	if (arena->chunks != NULL)
		page_arena_unmap(arena->chunks);
	arena->chunks = NULL;
	arena->next_size = 0;
}
