"""Reports for HR and managers: hours by project, client and employee; utilisation, budgets, overtime, leave."""
