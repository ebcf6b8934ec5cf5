// A tenant's branding as CSS custom properties. Text colours on the brand colours are chosen for
// WCAG AA contrast, so an operator cannot pick a header colour that makes the menu unreadable.
import type { Declaration } from '../tenancy/declaration.js';

function luminance(hex: string): number {
  const channel = (i: number) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

export function contrastRatio(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** White or near-black, whichever reads better on `background`. */
export function textOn(background: string): string {
  return contrastRatio(background, '#ffffff') >= contrastRatio(background, '#111111') ? '#ffffff' : '#111111';
}

export function themeCss(branding: Declaration['branding']): string {
  const { primary, secondary } = branding.colors;
  const vars: Record<string, string> = {
    '--brand-primary': primary,
    '--brand-on-primary': textOn(primary),
    '--brand-secondary': secondary,
    '--brand-on-secondary': textOn(secondary),
    // Links on white must reach 4.5:1; fall back to a dark neutral when the brand colour is too light.
    '--brand-link': contrastRatio(primary, '#ffffff') >= 4.5 ? primary : '#1a1a1a',
    ...branding.accent,
  };
  // Values are constrained by the declaration schema (no ';', '{', '<'), so this cannot break out.
  return `:root{${Object.entries(vars).map(([k, v]) => `${k}:${v}`).join(';')}}`;
}
