// Bar charts drawn on the server as SVG: readable without JavaScript, and described for screen
// readers (role="img" with a title naming the figure; the page puts the same data in a table).
// A withheld value (k-anonymity) is drawn as a hatched stub, not as zero. Colours and type sizes
// come from the stylesheet (.chart in src/web/static/portique.css): bars in the tenant's link
// colour (4.5:1 on white whatever the brand), and on a phone larger text and every other label,
// since the drawing scales down with the screen.
export interface Bar {
  label: string;
  value: number | null;
}

const WIDTH = 720;
const HEIGHT = 220;
const PAD = { top: 16, right: 8, bottom: 40, left: 56 };

function niceMax(max: number): number {
  if (max <= 5) return 5;
  const magnitude = 10 ** Math.floor(Math.log10(max));
  const step = [1, 2, 5, 10].find((s) => s * magnitude >= max / 4)! * magnitude;
  return Math.ceil(max / step) * step;
}

export function BarChart(props: { id: string; title: string; bars: Bar[]; withheldLabel: string }) {
  const { bars } = props;
  const top = niceMax(Math.max(0, ...bars.map((b) => b.value ?? 0)));
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const slot = bars.length > 0 ? plotW / bars.length : plotW;
  const barW = Math.max(1, slot * 0.8);
  const labelEvery = Math.max(1, Math.ceil(bars.length / 12));
  const ticks = [0, top / 2, top];
  return (
    <svg class="chart" viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby={`${props.id}-title`} xmlns="http://www.w3.org/2000/svg">
      <title id={`${props.id}-title`}>{props.title}</title>
      <defs>
        <pattern id={`${props.id}-hatch`} width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
          <line x1="0" y1="0" x2="0" y2="6" class="hatch" stroke-width="2" />
        </pattern>
      </defs>
      {ticks.map((tick) => {
        const y = PAD.top + plotH - (tick / top) * plotH;
        return (
          <g>
            <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y} y2={y} class="grid" />
            <text x={PAD.left - 6} y={y + 4} text-anchor="end" class="tick">
              {String(Math.round(tick))}
            </text>
          </g>
        );
      })}
      {bars.map((bar, i) => {
        const x = PAD.left + i * slot + (slot - barW) / 2;
        const h = bar.value === null ? 6 : (bar.value / top) * plotH;
        return (
          <g>
            <rect
              x={x.toFixed(1)}
              y={(PAD.top + plotH - h).toFixed(1)}
              width={barW.toFixed(1)}
              height={h.toFixed(1)}
              class={bar.value === null ? 'withheld' : 'bar'}
              {...(bar.value === null ? { fill: `url(#${props.id}-hatch)` } : {})}
            >
              <title>{`${bar.label} : ${bar.value === null ? props.withheldLabel : bar.value}`}</title>
            </rect>
            {i % labelEvery === 0 && (
              <text x={(x + barW / 2).toFixed(1)} y={HEIGHT - PAD.bottom + 18} text-anchor="middle" class={(i / labelEvery) % 2 ? 'label label-alt' : 'label'}>
                {bar.label}
              </text>
            )}
          </g>
        );
      })}
    </svg>
  );
}
