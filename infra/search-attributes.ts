// Registers tl's search attributes (contracts/search-attributes.ts) on the Temporal server. The dev
// server keeps them in its SQLite file, so a server started before tl knew of one lacks it:
// `tl stack up` calls this every time, and it only adds what is missing.
import { Connection } from '@temporalio/client';
import type { SearchAttributeType } from '@temporalio/common';
import { TL_SEARCH_ATTRIBUTES } from '../contracts/search-attributes';
import type { TemporalConnectionOptions } from '../temporal/connection';

/** The server's numbers for search-attribute types (temporal.api.enums.v1.IndexedValueType). */
const INDEXED_VALUE_TYPE: Record<SearchAttributeType, number> = { TEXT: 1, KEYWORD: 2, INT: 3, DOUBLE: 4, BOOL: 5, DATETIME: 6, KEYWORD_LIST: 7 };

export interface SearchAttributeRegistration {
  added: string[];
  present: string[];
}

export async function ensureSearchAttributes(options: TemporalConnectionOptions, namespace: string): Promise<SearchAttributeRegistration> {
  const connection = await Connection.connect({ ...options, connectTimeout: '5 seconds' });
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
    const missing: Record<string, number> = {};
    const present: string[] = [];
    for (const key of TL_SEARCH_ATTRIBUTES) {
      const wanted = INDEXED_VALUE_TYPE[key.type];
      const existing = customAttributes?.[key.name];
      if (existing === undefined || existing === null) {
        missing[key.name] = wanted;
      } else if (existing !== wanted) {
        throw new Error(
          `search attribute ${key.name} exists in namespace "${namespace}" with another type; tl needs ${key.type}. Remove it (temporal operator search-attribute remove --name ${key.name}) and run tl stack up again`,
        );
      } else {
        present.push(key.name);
      }
    }
    const added = Object.keys(missing);
    if (added.length) {
      try {
        await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
      } catch (err) {
        // Another `up` registering at the same time is fine; anything else is not.
        if (!/already exists/i.test((err as Error).message)) throw err;
      }
    }
    return { added, present };
  } finally {
    await connection.close();
  }
}
