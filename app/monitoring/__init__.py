"""Live monitoring of a station's month from its incident and case records (警情处置时效, 案件办理进度)."""
