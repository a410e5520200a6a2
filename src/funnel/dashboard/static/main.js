// The dashboard page: live panels from the services, reports from the reporter.

import { startLive } from "./live.js";
import { startReports } from "./reports.js";

startLive();
startReports().catch((error) => {
  const box = document.getElementById("report-errors");
  box.hidden = false;
  box.textContent = `reports unavailable: ${error.message}`;
});
