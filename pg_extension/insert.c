/*
 * insert.c: new entries go to the hot area, a chain of pages appended under GenericXLog.
 */
#include "learned.h"

#include "storage/lmgr.h"
#include "utils/rel.h"

/* Appends one entry to the hot page and widens the page's key range. */
static void
hot_page_append(Page page, uint64 key, ItemPointer tid, bool isnull)
{
	LearnedPageOpaque opaque = LearnedPageGetOpaque(page);
	LearnedHotEntry *entry = &LearnedHotEntries(page)[opaque->count];

	entry->key = key;
	entry->tid = *tid;
	entry->flags = isnull ? LEARNED_HOT_NULL : 0;
	if (!isnull)
	{
		opaque->min_key = Min(opaque->min_key, key);
		opaque->max_key = Max(opaque->max_key, key);
	}
	opaque->count++;
	((PageHeader) page)->pd_lower = (char *) (entry + 1) - (char *) page;
}

/* Checks that the metapage is a learned index's. */
static void
check_magic(Relation index, LearnedMetaPage meta)
{
	if (meta->magic != LEARNED_MAGIC)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is not a learned index", RelationGetRelationName(index)),
				 errhint("Rebuild it with REINDEX.")));
}

/*
 * Inserts one heap tuple's entry (NULL keys included, so IS NULL scans find them). While the tail page
 * has room only that page changes, and the metapage is held just long enough to find it; a full tail is
 * sealed and a new page linked with the metapage held exclusively.
 */
bool
learned_insert(Relation index, Datum *values, bool *isnull, ItemPointer ht_ctid, Relation heap,
			   IndexUniqueCheck checkUnique, bool indexUnchanged, IndexInfo *indexInfo)
{
	Oid			typid = TupleDescAttr(RelationGetDescr(index), 0)->atttypid;
	uint64		key = isnull[0] ? 0 : learned_normalize(typid, values[0]);
	Buffer		metabuf;
	Buffer		tailbuf = InvalidBuffer;
	Buffer		newbuf = InvalidBuffer;
	GenericXLogState *state;
	LearnedMetaPage meta;

	/* Shared with other inserts and VACUUM's marking; a merge takes it exclusively. */
	LockPage(index, LEARNED_METAPAGE_BLKNO, ShareLock);
	metabuf = ReadBuffer(index, LEARNED_METAPAGE_BLKNO);
	LockBuffer(metabuf, BUFFER_LOCK_SHARE);
	meta = LearnedPageGetMeta(BufferGetPage(metabuf));
	check_magic(index, meta);
	if (meta->hot_tail != InvalidBlockNumber)
	{
		tailbuf = ReadBuffer(index, meta->hot_tail);
		LockBuffer(tailbuf, BUFFER_LOCK_EXCLUSIVE);
		if (LearnedPageGetOpaque(BufferGetPage(tailbuf))->count < LEARNED_HOT_PER_PAGE)
		{
			/* The tail cannot be sealed while we hold it, so the metapage may go. */
			UnlockReleaseBuffer(metabuf);
			state = GenericXLogStart(index);
			hot_page_append(GenericXLogRegisterBuffer(state, tailbuf, 0), key, ht_ctid, isnull[0]);
			GenericXLogFinish(state);
			UnlockReleaseBuffer(tailbuf);
			UnlockPage(index, LEARNED_METAPAGE_BLKNO, ShareLock);
			return false;
		}
		UnlockReleaseBuffer(tailbuf);
		tailbuf = InvalidBuffer;
	}

	/* No tail, or a full one: look again with the metapage held exclusively (another insert may have extended). */
	LockBuffer(metabuf, BUFFER_LOCK_UNLOCK);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	meta = LearnedPageGetMeta(BufferGetPage(metabuf));
	if (meta->hot_tail != InvalidBlockNumber)
	{
		tailbuf = ReadBuffer(index, meta->hot_tail);
		LockBuffer(tailbuf, BUFFER_LOCK_EXCLUSIVE);
		if (LearnedPageGetOpaque(BufferGetPage(tailbuf))->count >= LEARNED_HOT_PER_PAGE)
			newbuf = learned_new_buffer(index);
	}
	else
		newbuf = learned_new_buffer(index);

	state = GenericXLogStart(index);
	if (BufferIsValid(newbuf))
	{
		Page		newpage = GenericXLogRegisterBuffer(state, newbuf, GENERIC_XLOG_FULL_IMAGE);

		meta = LearnedPageGetMeta(GenericXLogRegisterBuffer(state, metabuf, 0));
		learned_init_page(newpage, LEARNED_PAGE_HOT);
		hot_page_append(newpage, key, ht_ctid, isnull[0]);
		if (BufferIsValid(tailbuf))
		{
			Page		tailpage = GenericXLogRegisterBuffer(state, tailbuf, 0);

			/* The sealed page's entries move into the metapage's count; the new tail counts its own. */
			meta->hot_count += LearnedPageGetOpaque(tailpage)->count;
			LearnedPageGetOpaque(tailpage)->next = BufferGetBlockNumber(newbuf);
		}
		else
			meta->hot_head = BufferGetBlockNumber(newbuf);
		meta->hot_tail = BufferGetBlockNumber(newbuf);
		meta->hot_pages++;
	}
	else
		hot_page_append(GenericXLogRegisterBuffer(state, tailbuf, 0), key, ht_ctid, isnull[0]);
	GenericXLogFinish(state);

	if (BufferIsValid(newbuf))
		UnlockReleaseBuffer(newbuf);
	if (BufferIsValid(tailbuf))
		UnlockReleaseBuffer(tailbuf);
	UnlockReleaseBuffer(metabuf);
	UnlockPage(index, LEARNED_METAPAGE_BLKNO, ShareLock);
	return false;
}
