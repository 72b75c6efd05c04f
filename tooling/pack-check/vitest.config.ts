import { cutrecVitest } from '@cutrec/config/vitest';
import { defineConfig } from 'vitest/config';

export default defineConfig(cutrecVitest({ testTimeout: 600_000, hookTimeout: 600_000 }));
