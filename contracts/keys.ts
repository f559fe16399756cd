// Run ids and where a run keeps its artifacts in S3.
/**
 * A run's id in S3 and in reports: its workflow id without ':'. Scheduled runs get workflow ids
 * ending in an RFC 3339 time (`…-2025-01-02T03:04:05Z`), and ':' is not allowed in artifact keys.
 */
export const runIdFor = (workflowId: string): string => workflowId.replaceAll(':', '');

/** Where a run keeps its artifacts. */
export const runKeys = (runId: string) => ({
  checkpoint: (epoch: number) => `runs/${runId}/checkpoints/epoch-${String(epoch).padStart(3, '0')}`,
  model: `runs/${runId}/model`,
  reportJson: `runs/${runId}/report/report.json`,
  reportHtml: `runs/${runId}/report/report.html`,
  reportMarkdown: `runs/${runId}/report/report.md`,
});
