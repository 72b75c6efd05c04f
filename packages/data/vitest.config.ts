import { cutrecVitest } from '@cutrec/config/vitest';
import { defineConfig } from 'vitest/config';

export default defineConfig(cutrecVitest());
