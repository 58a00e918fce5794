// A fixed colour per defense method, the same in every plot and table of every report: the common
// methods keep their own colour (so AT is always blue, TRADES orange, MART green, as in the usual
// figures); other methods take the remaining colours of the Tableau 10 palette in the order given.
const FIXED: Record<string, string> = {
  standard: '#7f7f7f', none: '#7f7f7f', clean: '#7f7f7f', erm: '#7f7f7f',
  at: '#1f77b4', 'pgd-at': '#1f77b4', pgdat: '#1f77b4', madry: '#1f77b4',
  trades: '#ff7f0e',
  mart: '#2ca02c',
};
const OTHERS = ['#d62728', '#9467bd', '#8c564b', '#e377c2', '#bcbd22', '#17becf', '#393b79', '#ad494a', '#637939', '#7b4173'];

/** Defense → colour ('#rrggbb') for the defenses in the order given (the order of legends and columns). */
export function defenseColors(defenses: readonly string[]): Map<string, string> {
  const colors = new Map<string, string>();
  const used = new Set<string>();
  for (const d of defenses) {
    const fixed = FIXED[d.toLowerCase()];
    if (fixed !== undefined && !used.has(fixed)) { colors.set(d, fixed); used.add(fixed); }
  }
  let next = 0;
  for (const d of defenses) {
    if (colors.has(d)) continue;
    const free = OTHERS.filter((c) => !used.has(c));
    // More methods than colours: cycle (the legend still names each one).
    const c = free.length > 0 ? free[0] : OTHERS[next++ % OTHERS.length];
    colors.set(d, c);
    used.add(c);
  }
  return colors;
}
