import { MongoServerError } from 'mongodb';

/** An insert-first write reads a duplicate key as "already there" and moves on to its guarded update. */
export const isDuplicateKey = (err: unknown) => err instanceof MongoServerError && err.code === 11000;
