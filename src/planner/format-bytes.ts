// GPU memory is sold in binary units ("80GB" cards hold about 80 GiB), so messages speak GiB.
export const GIB = 1024 ** 3;

export function formatGibibytes(bytes: number): string {
  return `${(bytes / GIB).toFixed(1)} GiB`;
}
