/* test-page-arena: blocks are aligned, disjoint and keep their bytes until
 * the reset; a reset keeps only the first small chunk; large blocks and
 * chunks past the largest size work. */
#include "page_arena.h"

#include <stdint.h>
#include <string.h>

#include "test-common.h"

#define BLOCKS 4000

static void test_page_arena_blocks(void)
{
	static unsigned char *blocks[BLOCKS];
	struct page_arena arena = PAGE_ARENA_INIT;
	size_t i;
	bool aligned = true, kept = true;

	test_begin("page_arena: aligned blocks keep their bytes");
	for (i = 0; i < BLOCKS; i++) {
		size_t size = 512 + (i % 9) * 512;	/* 512 .. 4,608 */

		blocks[i] = page_arena_alloc(&arena, size);
		test_assert_idx(blocks[i] != NULL, (long long)i);
		if (blocks[i] == NULL)
			break;
		if ((uintptr_t)blocks[i] % 64 != 0)
			aligned = false;
		memset(blocks[i], (int)(i & 0xff), size);
	}
	for (i = 0; i < BLOCKS && blocks[i] != NULL; i++) {
		size_t size = 512 + (i % 9) * 512, b;

		for (b = 0; b < size; b++) {
			if (blocks[i][b] != (unsigned char)(i & 0xff))
				kept = false;
		}
	}
	test_assert(aligned);
	test_assert(kept);
	page_arena_free(&arena);
	test_assert(arena.chunks == NULL);
	test_end();
}

static void test_page_arena_reset(void)
{
	struct page_arena arena = PAGE_ARENA_INIT;
	unsigned char *first, *again;
	size_t i;

	test_begin("page_arena: a reset keeps the first small chunk only");
	first = page_arena_alloc(&arena, 4096);
	test_assert(first != NULL);
	page_arena_reset(&arena);
	again = page_arena_alloc(&arena, 4096);
	test_assert(again == first);	/* no new mapping for a small use */
	for (i = 0; i < 20000; i++)	/* 80 MB: several chunks, huge ones */
		test_assert_idx(page_arena_alloc(&arena, 4096) != NULL,
				(long long)i);
	page_arena_reset(&arena);
	test_assert(arena.chunks != NULL && page_arena_alloc(&arena, 4096)
		    == first);
	page_arena_free(&arena);

	/* a store of 64 KiB pages: its first chunk is kept too */
	first = page_arena_alloc(&arena, 65536);
	test_assert(first != NULL);
	page_arena_reset(&arena);
	test_assert(page_arena_alloc(&arena, 65536) == first);
	page_arena_free(&arena);
	test_end();
}

static void test_page_arena_large(void)
{
	struct page_arena arena = PAGE_ARENA_INIT;
	unsigned char *big;

	test_begin("page_arena: a block larger than any chunk size");
	big = page_arena_alloc(&arena, 100u * 1024 * 1024);
	test_assert(big != NULL);
	if (big != NULL) {
		big[0] = 1;
		big[100u * 1024 * 1024 - 1] = 2;
	}
	test_assert(page_arena_alloc(&arena, SIZE_MAX - 10) == NULL);
	test_assert(page_arena_alloc(&arena, 4096) != NULL);
	page_arena_free(&arena);
	test_end();
}

int main(void)
{
	test_page_arena_blocks();
	test_page_arena_reset();
	test_page_arena_large();
	return test_exit();
}
