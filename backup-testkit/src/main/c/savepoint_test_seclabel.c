/*
 * A security label provider for Savepoint's tests, named "savepoint_test". PostgreSQL records security labels
 * only for a loaded provider (SELinux's sepgsql in production); this one accepts any label, so tests can set
 * labels on a database, its objects and roles and check that a backup and restore keep them.
 * Built and installed by scripts/setup.sh; loaded by the test kit with shared_preload_libraries.
 */
#include "postgres.h"

#include "commands/seclabel.h"
#include "fmgr.h"

PG_MODULE_MAGIC;

void _PG_init(void);

static void
accept_any_label(const ObjectAddress *object, const char *label)
{
	/* every label is valid */
}

void
_PG_init(void)
{
	register_label_provider("savepoint_test", accept_any_label);
}
