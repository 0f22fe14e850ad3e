//! Campaigns: scenario files, run folders, summaries and the HTML report (placeholder, being written).
