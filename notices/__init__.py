"""Form 2 notices: build drafts from confirmed detections, render, export."""
