// `node dist/bench/history.js <workflow-id>…`: what each run's history holds, from the client's
// fetchHistory(): events by type, the run's wall time, and the slowest workflow tasks
// (WorkflowTaskScheduled → WorkflowTaskCompleted). Uses the TL_* environment like `tl`.
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../lib/config';
import { historyStats } from '../temporal/history-stats';

async function main(ids: string[]): Promise<void> {
  if (ids.length === 0) throw new Error('usage: node dist/bench/history.js <workflow-id>…');
  const config = loadConfig();
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  try {
    for (const id of ids) {
      const stats = historyStats(await client.workflow.getHandle(id).fetchHistory());
      const tasks = [...stats.workflowTaskSeconds].sort((a, b) => b - a);
      const perHour = stats.wallSeconds > 0 ? (stats.events * 3600) / stats.wallSeconds : 0;
      console.log(
        JSON.stringify({
          id,
          events: stats.events,
          wallSeconds: Math.round(stats.wallSeconds),
          eventsPerHour: Math.round(perHour),
          workflowTasks: tasks.length,
          slowestWorkflowTaskSeconds: tasks.slice(0, 3).map((s) => Number(s.toFixed(3))),
          byType: stats.byType,
        }),
      );
    }
  } finally {
    await connection.close();
  }
}

main(process.argv.slice(2)).catch((err) => {
  console.error(`history: ${(err as Error).message}`);
  process.exitCode = 1;
});
