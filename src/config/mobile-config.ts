import { z } from 'zod';

/** Paired phones (src/grants): where the node sends push notifications about their jobs. */
export const MobileConfig = z
  .object({
    /** Push finished jobs to the tokens paired phones registered (the Expo push service by default). */
    push: z.boolean().default(true),
    pushUrl: z.string().regex(/^https?:\/\/\S+$/, 'must be an http:// or https:// URL').default('https://exp.host/--/api/v2/push/send'),
  })
  .strict();
export type MobileConfig = z.infer<typeof MobileConfig>;
