// Prometheus text exposition (version 0.0.4): modules describe metric families, the cell prints them together.

export interface Sample {
  readonly labels?: Readonly<Record<string, string>>
  readonly value: number
  /** Suffix for histogram/summary parts, e.g. "_count"; empty for plain samples. */
  readonly suffix?: string
}

export interface MetricFamily {
  readonly name: string
  readonly help: string
  readonly type: 'counter' | 'gauge' | 'summary' | 'histogram' | 'untyped'
  readonly samples: readonly Sample[]
}

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')

function formatValue (v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  return String(v)
}

export function formatPrometheus (families: readonly MetricFamily[]): string {
  const out: string[] = []
  for (const f of families) {
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`)
    for (const s of f.samples) {
      const labels = s.labels == null ? [] : Object.entries(s.labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`)
      out.push(`${f.name}${s.suffix ?? ''}${labels.length > 0 ? `{${labels.join(',')}}` : ''} ${formatValue(s.value)}`)
    }
  }
  return out.join('\n') + '\n'
}
