/*
 * validate.c: amvalidate and amadjustmembers for the operator classes: btree strategies 1-5 over the
 * supported key types, with support function 1 the btree comparison. The index orders keys by their
 * normalised form, which is btree's order for those types, so every member must mean what the member
 * of btree's default family for its types means; builds refuse a family where one does not.
 */
#include "learned.h"

#include "access/amvalidate.h"
#include "access/htup_details.h"
#include "access/nbtree.h"
#include "access/stratnum.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_opfamily.h"
#include "catalog/pg_type_d.h"
#include "commands/defrem.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"

/* Reports one problem with an operator family as INFO, the way the core access methods do. */
#define REPORT(...) \
	do { \
		ereport(INFO, (errcode(ERRCODE_INVALID_OBJECT_DEFINITION), errmsg(__VA_ARGS__))); \
		result = false; \
	} while (0)

/* The name of an operator family. */
static char *
opfamily_name(Oid opfamilyoid)
{
	HeapTuple	tuple = SearchSysCache1(OPFAMILYOID, ObjectIdGetDatum(opfamilyoid));
	char	   *name;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for operator family %u", opfamilyoid);
	name = pstrdup(NameStr(((Form_pg_opfamily) GETSTRUCT(tuple))->opfname));
	ReleaseSysCache(tuple);
	return name;
}

/* The btree operator family that orders `type` by default, or InvalidOid. */
static Oid
btree_family(Oid type)
{
	Oid			opclass = GetDefaultOpClass(type, BTREE_AM_OID);

	return OidIsValid(opclass) ? get_opclass_family(opclass) : InvalidOid;
}

/* Whether operator opr on (left, right) is btree's operator for `strategy` on those types. */
static bool
operator_means_btree(Oid opr, Oid left, Oid right, int strategy)
{
	Oid			family = btree_family(left);

	return OidIsValid(family) && get_op_opfamily_strategy(opr, family) == strategy &&
		get_opfamily_member(family, left, right, strategy) == opr;
}

/* Whether proc is btree's comparison support function on (left, right). */
static bool
proc_means_btree(Oid proc, Oid left, Oid right)
{
	Oid			family = btree_family(left);

	return OidIsValid(family) && get_opfamily_proc(family, left, right, BTORDER_PROC) == proc;
}

/* Refuses to build over an operator family with a member that does not mean what btree's does. */
void
learned_check_opfamily(Relation index)
{
	int			column;

	for (column = 0; column < IndexRelationGetNumberOfKeyAttributes(index); column++)
	{
		Oid			opfamilyoid = index->rd_opfamily[column];
		CatCList   *oprlist = SearchSysCacheList1(AMOPSTRATEGY, ObjectIdGetDatum(opfamilyoid));
		CatCList   *proclist = SearchSysCacheList1(AMPROCNUM, ObjectIdGetDatum(opfamilyoid));
		char	   *member = NULL;
		int			i;

		for (i = 0; i < oprlist->n_members && member == NULL; i++)
		{
			Form_pg_amop op = (Form_pg_amop) GETSTRUCT(&oprlist->members[i]->tuple);

			if (!operator_means_btree(op->amopopr, op->amoplefttype, op->amoprighttype, op->amopstrategy))
				member = format_operator(op->amopopr);
		}
		for (i = 0; i < proclist->n_members && member == NULL; i++)
		{
			Form_pg_amproc proc = (Form_pg_amproc) GETSTRUCT(&proclist->members[i]->tuple);

			if (!proc_means_btree(proc->amproc, proc->amproclefttype, proc->amprocrighttype))
				member = format_procedure(proc->amproc);
		}
		ReleaseCatCacheList(oprlist);
		ReleaseCatCacheList(proclist);
		if (member)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("operator family \"%s\" of access method learned has member %s, which is not btree's for its types",
							opfamily_name(opfamilyoid), member),
					 errdetail("A learned index orders keys as btree's default operator family for their type does."),
					 errhint("Use the operator classes the extension provides.")));
	}
}

/* Checks an operator class and its family: every member well-formed, the class's own type complete. */
bool
learned_validate(Oid opclassoid)
{
	HeapTuple	classtup = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclassoid));
	Form_pg_opclass classform;
	Oid			opfamilyoid;
	Oid			opcintype;
	char	   *opfamilyname;
	CatCList   *oprlist;
	CatCList   *proclist;
	bool		result = true;
	bool		have_strategy[BTMaxStrategyNumber + 1] = {false};
	bool		have_cmp = false;
	int			i;

	if (!HeapTupleIsValid(classtup))
		elog(ERROR, "cache lookup failed for operator class %u", opclassoid);
	classform = (Form_pg_opclass) GETSTRUCT(classtup);
	opfamilyoid = classform->opcfamily;
	opcintype = classform->opcintype;
	opfamilyname = opfamily_name(opfamilyoid);

	if (learned_key_type_of(opcintype) == 0)
		REPORT("operator class \"%s\" of access method learned indexes unsupported type %s",
			   NameStr(classform->opcname), format_type_be(opcintype));

	proclist = SearchSysCacheList1(AMPROCNUM, ObjectIdGetDatum(opfamilyoid));
	for (i = 0; i < proclist->n_members; i++)
	{
		Form_pg_amproc proc = (Form_pg_amproc) GETSTRUCT(&proclist->members[i]->tuple);

		if (proc->amprocnum != 1)
			REPORT("operator family \"%s\" of access method learned contains function %s with invalid support number %d",
				   opfamilyname, format_procedure(proc->amproc), proc->amprocnum);
		else if (!check_amproc_signature(proc->amproc, INT4OID, true, 2, 2, proc->amproclefttype,
										 proc->amprocrighttype))
			REPORT("operator family \"%s\" of access method learned contains function %s with wrong signature for support number 1",
				   opfamilyname, format_procedure(proc->amproc));
		else if (!proc_means_btree(proc->amproc, proc->amproclefttype, proc->amprocrighttype))
			REPORT("operator family \"%s\" of access method learned contains function %s, which is not btree's comparison for its types",
				   opfamilyname, format_procedure(proc->amproc));
		else if (proc->amproclefttype == opcintype && proc->amprocrighttype == opcintype)
			have_cmp = true;
	}

	oprlist = SearchSysCacheList1(AMOPSTRATEGY, ObjectIdGetDatum(opfamilyoid));
	for (i = 0; i < oprlist->n_members; i++)
	{
		Form_pg_amop op = (Form_pg_amop) GETSTRUCT(&oprlist->members[i]->tuple);

		if (op->amopstrategy < 1 || op->amopstrategy > BTMaxStrategyNumber)
			REPORT("operator family \"%s\" of access method learned contains operator %s with invalid strategy number %d",
				   opfamilyname, format_operator(op->amopopr), op->amopstrategy);
		else if (op->amoppurpose != AMOP_SEARCH)
			REPORT("operator family \"%s\" of access method learned contains ordering operator %s",
				   opfamilyname, format_operator(op->amopopr));
		else if (!check_amop_signature(op->amopopr, BOOLOID, op->amoplefttype, op->amoprighttype))
			REPORT("operator family \"%s\" of access method learned contains operator %s with wrong signature",
				   opfamilyname, format_operator(op->amopopr));
		else if (learned_key_type_of(op->amoplefttype) == 0 || learned_key_type_of(op->amoprighttype) == 0)
			REPORT("operator family \"%s\" of access method learned contains operator %s on an unsupported type",
				   opfamilyname, format_operator(op->amopopr));
		else if (!operator_means_btree(op->amopopr, op->amoplefttype, op->amoprighttype, op->amopstrategy))
			REPORT("operator family \"%s\" of access method learned contains operator %s, which is not btree's for strategy %d",
				   opfamilyname, format_operator(op->amopopr), op->amopstrategy);
		else if (op->amoplefttype == opcintype && op->amoprighttype == opcintype)
			have_strategy[op->amopstrategy] = true;
	}

	/* Lossy keys (a uuid's leading bits) serve equality alone: their order is not the values'. */
	for (i = 1; i <= BTMaxStrategyNumber; i++)
		if (learned_key_is_lossy(opcintype) && i != BTEqualStrategyNumber && have_strategy[i])
			REPORT("operator class \"%s\" of access method learned on type %s takes only equality, not strategy %d",
				   NameStr(classform->opcname), format_type_be(opcintype), i);
		else if (!have_strategy[i] && (!learned_key_is_lossy(opcintype) || i == BTEqualStrategyNumber))
			REPORT("operator class \"%s\" of access method learned is missing the operator for strategy %d",
				   NameStr(classform->opcname), i);
	if (!have_cmp)
		REPORT("operator class \"%s\" of access method learned is missing support function 1",
			   NameStr(classform->opcname));

	ReleaseCatCacheList(oprlist);
	ReleaseCatCacheList(proclist);
	ReleaseSysCache(classtup);
	return result;
}

/* Same-type members belong to their class; cross-type members only softly to the family, as in btree. */
void
learned_adjustmembers(Oid opfamilyoid, Oid opclassoid, List *operators, List *functions)
{
	ListCell   *lc;
	List	   *lists[2] = {operators, functions};
	int			l;

	for (l = 0; l < 2; l++)
	{
		foreach(lc, lists[l])
		{
			OpFamilyMember *member = (OpFamilyMember *) lfirst(lc);

			if (member->lefttype != member->righttype)
			{
				member->ref_is_hard = false;
				member->ref_is_family = true;
				member->refobjid = opfamilyoid;
			}
		}
	}
}
