/* SPDX-License-Identifier: Apache-2.0 */
/* The schema's versioned migrations, for both back-ends: see schema.c. */
#ifndef API_SCHEMA_H
#define API_SCHEMA_H

struct api_migration {
	const char	*sqlite;
	const char	*pg;
};

extern const struct api_migration api_migrations[];
extern const int api_schema_version;

#endif /* API_SCHEMA_H */
