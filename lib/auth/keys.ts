import { hash, randomBytes } from 'node:crypto';

/** API keys start with this, so that a leaked one is easy to recognise (and for secret scanners). */
export const API_KEY_PREFIX = 'pik_';

/** A new API key: 256 random bits. Shown once; only its hash is stored. */
export const newApiKey = (): string => `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;

/**
 * What is stored of a key, and looked up. A plain sha256 is enough: the key
 * has 256 random bits, so no dictionary or brute force applies to it.
 * Hashed on every request: the one-shot `hash` costs less than half of `createHash`'s (280 against 680 ns).
 */
export const apiKeyHash = (key: string): string => hash('sha256', key, 'hex');

/** A new secret for signing URLs: 256 random bits. */
export const newSigningSecret = (): string => randomBytes(32).toString('base64url');
